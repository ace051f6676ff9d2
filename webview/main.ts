import { tensorView } from './tensorView';
import { explainView, diffView, reportView } from './panels';
import { roundingView, evalCompareView, attributionView } from './analysisPanels';

declare global {
  interface Window {
    QUANT_LENS_INITIAL: unknown;
  }
}

const app = document.getElementById('app')!;
const view = document.body.dataset.view;
const initial = window.QUANT_LENS_INITIAL;
if (view === 'tensor') tensorView(app);
else if (view === 'explain') explainView(app, initial);
else if (view === 'diff') diffView(app, initial);
else if (view === 'report') reportView(app, initial);
else if (view === 'rounding') roundingView(app, initial);
else if (view === 'evalcmp') evalCompareView(app, initial);
else if (view === 'attribution') attributionView(app, initial);
