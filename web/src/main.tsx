import { render } from 'preact';
import { App } from './app';
import { adoptTokenFromUrl } from './auth';
import './style.css';
import 'uplot/dist/uPlot.min.css';

adoptTokenFromUrl();
const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading…" placeholder
render(<App />, root);
