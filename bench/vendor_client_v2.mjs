// Drives `lro-emulator --profile v2` with the vendor's own v2 client
// (@laserfiche/lf-repository-api-client-v2): copy, poll, result, cancel, delete.
// Each call prints what came back and whether the client's classes took it; exit 1 on a
// mismatch. Findings: docs/vendor-clients.md (issue #18).
//
// Run (the npm folder stays outside the repo; the client resolves from it):
//   mkdir -p /tmp/vendor-v2 && cd /tmp/vendor-v2 && npm init -y \
//     && npm install @laserfiche/lf-repository-api-client-v2
//   .venv/bin/lro-emulator --profile v2 --clock wall --long-poll 2 --port 8791 &
//   VENDOR_CLIENT_DIR=/tmp/vendor-v2 node bench/vendor_client_v2.mjs http://127.0.0.1:8791
// (ES modules ignore NODE_PATH: VENDOR_CLIENT_DIR, else the working directory, is where
// the package is looked up.) Defaults: repository r1, bearer token alice (the emulator's).
// `--clock wall` is needed: the default virtual clock moves only through /_test hooks.
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

// A client bug, worked around here only: @laserfiche/lf-api-client-core 1.1.21 (its
// dependency) imports './ApiException' and './ProblemDetails' without '.js' in an ES
// module (dist/lib/BaseTokenClient.js), so plain Node fails with ERR_MODULE_NOT_FOUND
// (bundlers resolve it). This hook retries such a relative import with '.js'.
const hook = `export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (e) {
    if (e.code !== 'ERR_MODULE_NOT_FOUND' || !/^[.][.]?[/]/.test(spec)) throw e;
    return next(spec + '.js', ctx); } }`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
const where = (process.env.VENDOR_CLIENT_DIR ?? process.cwd()).replace(/\/?$/, '/');
const vendor = createRequire(where).resolve('@laserfiche/lf-repository-api-client-v2');
const lf = await import(pathToFileURL(vendor).href);
const base = process.argv[2] ?? 'http://127.0.0.1:8791';
const repositoryId = process.env.REPO_ID ?? 'r1';
const token = process.env.BEARER ?? 'alice';

// The least intrusive seam: the client's own HttpRequestHandler, with a fixed token.
const handler = {
  beforeFetchRequestAsync: async (url, init) => {
    init.headers['Authorization'] = `Bearer ${token}`;
    return { regionalDomain: '' }; // unused: the base URL below is absolute
  },
  afterFetchResponseAsync: async () => false, // no token refresh (5xx: the client retries)
};
const client = lf.RepositoryApiClient.createFromHttpRequestHandler(handler, base);
const { entriesClient: entries, tasksClient: tasks } = client;
let failed = 0;

function check(what, ok, shown) {
  if (!ok) failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(shown)}`);
}

const isDate = (d) => d instanceof Date && !Number.isNaN(d.getTime());

async function poll(taskId) { // prints each status it sees once
  let seen = '';
  for (let i = 0; i < 60; i += 1) {
    const listed = await tasks.listTasks({ repositoryId, taskIds: [taskId] });
    const task = listed.value?.[0];
    const typed = listed instanceof lf.TaskCollectionResponse && task instanceof lf.TaskProgress
      && task.id === taskId && typeof task.percentComplete === 'number'
      && isDate(task.startTime) && isDate(task.lastUpdateTime)
      && (task.errors === undefined || task.errors.every((e) => e instanceof lf.ProblemDetails));
    if (!typed || task.status !== seen) {
      check(`listTasks ${taskId}`, typed, [task?.taskType, task?.status, task?.percentComplete]);
    }
    seen = task?.status;
    if (!typed || !['NotStarted', 'InProgress'].includes(task.status)) return task;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`task ${taskId} never ended`);
}

async function folder(parent, name) {
  const request = new lf.CreateEntryRequest({ name, entryType: 'Folder', autoRename: true });
  const made = await entries.createEntry({ repositoryId, entryId: parent, request });
  check(`createEntry ${name}`, made instanceof lf.Folder && typeof made.id === 'number',
    [made.id, made.fullPath]);
  return made.id;
}

async function startCopy(dest, sourceId, name) {
  const request = new lf.StartCopyEntryRequest({ sourceId, name, autoRename: true });
  const started = await entries.startCopyEntry({ repositoryId, entryId: dest, request });
  check('startCopyEntry', started instanceof lf.StartTaskResponse
    && typeof started.taskId === 'string', started);
  return started.taskId;
}

const root = await entries.getEntry({ repositoryId, entryId: 1 });
check('getEntry root', root instanceof lf.Folder, [root.id, root.fullPath]);
const source = await folder(1, 'vendor-source');
await folder(source, 'child-a');
await folder(source, 'child-b');
const dest = await folder(1, 'vendor-dest');

// 1. A copy, polled to its end, and its result.
const copied = await poll(await startCopy(dest, source, 'copy-1'));
const result = copied.result;
check('copy result', copied.status === 'Completed' && result instanceof lf.TaskResult
  && typeof result.entryId === 'number' && typeof result.uri === 'string', result);
const made = await entries.getEntry({ repositoryId, entryId: result.entryId });
check('getEntry result', made instanceof lf.Folder && made.name === 'copy-1'
  && result.uri.endsWith(`/v2/Repositories/${repositoryId}/Entries/${made.id}`), made.fullPath);

// 2. A copy cancelled at once.
const second = await startCopy(dest, source, 'copy-2');
const cancelled = await tasks.cancelTasks({ repositoryId, taskIds: [second] });
const answer = cancelled.value?.[0];
check('cancelTasks', cancelled instanceof lf.CancelTasksResponse
  && answer instanceof lf.CancelTaskResult && answer.id === second
  && typeof answer.result === 'boolean', answer);
const ended = await poll(second);
check('cancelled copy', ended.status === 'Cancelled' && ended.result === undefined, ended.status);

// 3. A delete of the first copy, polled to its end.
const request = new lf.StartDeleteEntryRequest({ auditReasonComment: 'vendor client run' });
const started = await entries.startDeleteEntry({ repositoryId, entryId: made.id, request });
check('startDeleteEntry', started instanceof lf.StartTaskResponse
  && typeof started.taskId === 'string', started);
const deleted = await poll(started.taskId);
check('delete ended', deleted.status === 'Completed' && deleted.taskType === 'DeleteEntry'
  && deleted.result === undefined, deleted.status);
const gone = await entries.getEntry({ repositoryId, entryId: made.id }).catch((e) => e);
check('getEntry deleted', gone instanceof lf.ApiException && gone.status === 404
  && gone.problemDetails?.status === 404, [gone.status, gone.problemDetails?.title]);

// 4. Every task of the session (taskIds left empty): this run's three among them.
const all = await tasks.listTasks({ repositoryId });
const ours = all.value?.filter((t) => [copied.id, second, started.taskId].includes(t.id));
check('listTasks all', ours?.length === 3 && all.value.every((t) => t instanceof lf.TaskProgress),
  ours?.map((t) => [t.taskType, t.status]));
console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
