import { render } from 'preact';
import { App } from './app';
import { adoptTokenFromUrl } from './auth';
import './style.css';

adoptTokenFromUrl();
const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading…" placeholder
render(<App />, root);
