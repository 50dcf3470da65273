import { staticFilesHandler } from '../../adapters/http/static-files.ts';
import { DASHBOARD_FILES } from './files.ts';

/** GET / and GET /ui/{file}: the dashboard's files. They hold no data: every page reads the API with the user's token. */
export const api = staticFilesHandler(DASHBOARD_FILES);
