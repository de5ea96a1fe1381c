// What the page's classic scripts put on `window`: Chart.js's UMD build
// (vendor/chart.umd.min.js, loaded before the modules) defines `window.Chart`. Its types come
// from the same version of the `chart.js` package (a devDependency, never served).
import type { Chart as ChartJs } from 'chart.js';

declare global {
  interface Window {
    Chart?: typeof ChartJs;
  }
}
