import { render } from 'preact';
import { App } from './app';
import { adoptTokenFromUrl } from './auth';
import './style.css';
import 'uplot/dist/uPlot.min.css';

adoptTokenFromUrl();
render(<App />, document.getElementById('app')!);
