import type { StaticFile } from '../../adapters/http/static-files.ts';

const JS = 'text/javascript; charset=utf-8';

/**
 * The dashboard's files: its page, script and styles, and the libraries it runs as published
 * (Preact with htm in one module, Chart.js as a UMD script), read from the installed packages: no
 * build step. serverless.yml packs the same paths into the dashboard function's zip.
 */
export const DASHBOARD_FILES: Record<string, StaticFile> = {
  '/': { path: 'services/dashboard/ui/index.html', contentType: 'text/html; charset=utf-8' },
  'app.js': { path: 'services/dashboard/ui/app.js', contentType: JS },
  'views.js': { path: 'services/dashboard/ui/views.js', contentType: JS },
  'api.js': { path: 'services/dashboard/ui/api.js', contentType: JS },
  'style.css': { path: 'services/dashboard/ui/style.css', contentType: 'text/css; charset=utf-8' },
  'preact-htm.js': { path: 'node_modules/htm/preact/standalone.module.js', contentType: JS },
  'chart.js': { path: 'node_modules/chart.js/dist/chart.umd.js', contentType: JS },
  'openapi.json': { path: 'docs/openapi.json', contentType: 'application/json' },
};
