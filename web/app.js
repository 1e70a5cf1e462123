// The Glyph web page: render a document, show its pages and token stats, ask about it (streamed)
// or queue a background job. Plain JavaScript; talks only to the server it came from.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  doc: null, // the last rendered document (the render answer, without layout)
  docKey: '', // what it was rendered from (source and config)
  docName: '', // its file name, or '' for pasted text
  docs: new Map(), // document id → { id, name, pages } for the viewer
  viewer: null, // { doc, page } shown in the zoom window
  presets: {}, // preset name → config
  jobs: new Map(),
  polling: null,
  askAbort: null,
};

// ---- talking to the server ------------------------------------------------------------------

// Config keys and flag names in an error → the words of this page's form.
const LABELS = {
  'font-size': 'Font size', 'line-height': 'Line height', dpi: 'DPI', 'page-size': 'Page size',
  'margin-x': 'Margin left/right', 'margin-y': 'Margin top/bottom', 'font-path': 'Font',
  alignment: 'Alignment', 'font-color': 'Text colour', 'page-bg-color': 'Page colour',
  'newline-markup': 'Newline style', 'max-text-tokens-per-page': 'Max text tokens per page',
  'page-markers': 'Page markers', preset: 'Preset',
};

// The server's messages are shared with the command line; on this page a hint to pass a flag
// means nothing, so it becomes what to do here.
function pageWords(message) {
  return String(message)
    .replace(/pass --format for a document or pass --encoding \([^)]*\)/g,
      'upload a document with its extension (.pdf, .docx, .md, .html), or a text file saved as UTF-8')
    .replace(/pass --encoding \([^)]*\)/g, 'save the text as UTF-8 and upload it again')
    .replace(/pass its password with --password/g, 'save it without a password and upload it again')
    .replace(/ ?\(check --api-key, GLYPH_API_KEY or OPENAI_API_KEY\)/g, ' (the reader\'s key is set where the server runs)')
    .replace(/--(min|max)-pixels/g, 'the reader\'s image size limits')
    .replace(/--([a-z][a-z-]*)/g, (m, name) => (LABELS[name] ? `“${LABELS[name]}”` : `the server setting “${name}”`))
    .replace(/config "([a-z-]+)"/g, (m, key) => (LABELS[key] ? `“${LABELS[key]}”` : m));
}

async function api(method, path, body, signal) {
  const init = { method, headers: {}, signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Error('the server is not reachable (is glyph serve still running?)');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const message = data && data.error ? `${data.error.message} (${data.error.code})` : `HTTP ${res.status}`;
    throw new Error(pageWords(message));
  }
  return data;
}

// A busy line: a progress bar (indeterminate until a fraction is known) and the elapsed time.
function busyLine(prefix) {
  const box = $(`${prefix}-status`);
  const bar = $(`${prefix}-progress`);
  const label = $(`${prefix}-status-text`);
  const start = Date.now();
  let what = '';
  const draw = () => { label.textContent = `${what} · ${Math.round((Date.now() - start) / 1000)} s`; };
  const timer = setInterval(draw, 500);
  box.hidden = false;
  bar.removeAttribute('value');
  return {
    say(text, fraction) {
      what = text;
      if (fraction === undefined) bar.removeAttribute('value');
      else bar.value = Math.max(Number(bar.value) || 0, fraction);
      draw();
    },
    done() { clearInterval(timer); box.hidden = true; },
  };
}

// ---- the document: what to render --------------------------------------------------------

function num(id) { return $(id).value.trim() === '' ? null : Number($(id).value); }

// The config overrides chosen in the form (Glyph config keys); empty fields keep the preset's.
function configOverrides() {
  const c = { preset: $('preset').value };
  for (const [id, key] of [['font-size', 'font-size'], ['dpi', 'dpi'], ['line-height', 'line-height'],
    ['margin-x', 'margin-x'], ['margin-y', 'margin-y']]) {
    if (num(id) !== null) c[key] = num(id);
  }
  // A preset states its line height; a font size of one's own wants the default leading back.
  if (c['font-size'] !== undefined && c['line-height'] === undefined) c['line-height'] = 0;
  if ($('page-size').value === 'custom') {
    const v = $('page-size-custom').value.replace(/\s+/g, '');
    if (v !== '') c['page-size'] = v;
  } else if ($('page-size').value !== '') c['page-size'] = $('page-size').value;
  if ($('font').value !== '') c['font-path'] = $('font').value;
  if ($('alignment').value !== '') c.alignment = $('alignment').value;
  for (const id of ['font-color', 'page-bg-color']) {
    const el = $(id);
    if (el.value.toLowerCase() !== (el.dataset.preset || el.defaultValue).toLowerCase()) c[id] = el.value.toUpperCase();
  }
  if ($('newline').value !== '') c['newline-markup'] = $('newline').value;
  if (num('max-tokens') !== null && num('max-tokens') > 0) c['max-text-tokens-per-page'] = num('max-tokens');
  if ($('markers').value !== '') c['page-markers'] = $('markers').value;
  return c;
}

// The document as the form says now: frozen when a button is pressed.
function documentRequest() {
  const file = $('file').files[0] || null;
  const text = $('text').value;
  if (!file && !text.trim()) throw new Error('paste a text or upload a file first');
  if ($('page-size').value === 'custom' && !/^\s*[0-9.]+\s*,\s*[0-9.]+\s*$/.test($('page-size-custom').value)) {
    throw new Error('“Custom size”: write the page width and height in points, e.g. 500,700');
  }
  const config = configOverrides();
  const key = JSON.stringify([file ? `${file.name}:${file.size}:${file.lastModified}` : text, config]);
  return { file, text, config, key, name: file ? file.name : '' };
}

function markStale(message) {
  const note = $('result-stale');
  if (!state.doc) { note.hidden = true; return; }
  note.textContent = message;
  note.hidden = false;
  $('result').classList.add('stale');
}

async function renderDocument(req) {
  $('render-error').textContent = '';
  const busy = busyLine('render');
  busy.say(req.file ? `Rendering ${req.file.name}` : 'Rendering the text');
  $('result').setAttribute('aria-busy', 'true');
  try {
    let data;
    if (req.file) {
      const form = new FormData();
      form.append('file', req.file, req.file.name);
      form.append('config', JSON.stringify(req.config));
      data = await api('POST', '/v1/render?layout=0', form);
    } else {
      data = await api('POST', '/v1/render?layout=0', { text: req.text, config: req.config });
    }
    state.doc = data;
    state.docKey = req.key;
    state.docName = req.name;
    rememberDocument(data, req.name);
    showDocument(data);
    return data;
  } catch (e) {
    markStale(`These pages are from an earlier render: the last render failed (${e.message}).`);
    throw e;
  } finally {
    busy.done();
    $('result').removeAttribute('aria-busy');
  }
}

async function ensureRendered(req) {
  if (state.doc && state.docKey === req.key) return state.doc;
  $('render-error').textContent = '';
  try {
    return await renderDocument(req);
  } catch (e) {
    $('render-error').textContent = e.message;
    throw new Error(`the document could not be rendered: ${e.message}`);
  }
}

function fmt(n) { return typeof n === 'number' && n >= 0 ? n.toLocaleString('en-US') : '–'; }

function rememberDocument(d, name) {
  const info = {
    id: d.document_id,
    name: name || (state.docs.get(d.document_id) || {}).name || '',
    pages: d.pages.map((p) => ({ number: p.number, url: p.url, width_px: p.width_px, height_px: p.height_px })),
  };
  state.docs.set(info.id, info);
  return info;
}

function documentLabel(id, name) {
  return name ? name : `pasted text · ${id ? id.slice(0, 8) : ''}`;
}

function showDocument(d) {
  $('result').classList.remove('stale');
  $('result-stale').hidden = true;
  $('result-source').textContent = `${documentLabel(d.document_id, state.docName)}${d.warnings && d.warnings.length ? ` · ${d.warnings.join('; ')}` : ''}`;
  const s = d.stats;
  $('stat-text-tokens').textContent = fmt(s.text_tokens);
  $('stat-visual-tokens').textContent = fmt(s.visual_tokens);
  $('stat-ratio').textContent = s.compression_ratio > 0 ? `${s.compression_ratio.toFixed(2)}×` : '–';
  $('stat-pages').textContent = fmt(s.pages);
  $('stat-chars').textContent = fmt(s.characters);
  $('stat-render').textContent = s.cached ? 'cached' : `${Math.round(s.render_ms)} ms`;
  const gallery = $('gallery');
  gallery.replaceChildren();
  for (const p of d.pages) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'page-thumb';
    b.setAttribute('aria-label', `Page ${p.number}: open zoomed view`);
    const img = document.createElement('img');
    img.src = p.url;
    img.alt = `Rendered page ${p.number}`;
    img.loading = 'lazy';
    const cap = document.createElement('span');
    cap.className = 'caption';
    cap.textContent = `Page ${p.number} · ${p.visual_tokens} visual tokens`;
    b.append(img, cap);
    b.addEventListener('click', () => openPage(d.document_id, p.number, null));
    li.append(b);
    gallery.append(li);
  }
}

// ---- the zoom window ----------------------------------------------------------------------

// The pages of a document (fetched once when it was not rendered on this page).
async function documentInfo(id, name) {
  if (state.docs.has(id)) {
    const info = state.docs.get(id);
    if (name && !info.name) info.name = name;
    return info;
  }
  const d = await api('GET', `/v1/documents/${id}?layout=0`);
  return rememberDocument(d, name);
}

function applyZoom() {
  if (!state.viewer) return;
  const p = state.viewer.doc.pages[state.viewer.page - 1];
  $('viewer-page').style.width = `${(p.width_px * Number($('zoom').value)) / 100}px`;
}

function showViewerPage(info, n, box) {
  const p = info.pages[n - 1];
  if (!p) return;
  state.viewer = { doc: info, page: n };
  $('viewer-title').textContent = `${info.name ? `${info.name} · ` : ''}Page ${n} of ${info.pages.length}`;
  $('viewer-img').src = p.url;
  $('viewer-img').alt = `Rendered page ${n}, zoomed`;
  $('viewer-page').dataset.page = String(n);
  $('viewer-page').dataset.document = info.id;
  $('viewer-prev').disabled = n <= 1;
  $('viewer-next').disabled = n >= info.pages.length;
  const h = $('highlight');
  if (box) {
    h.hidden = false;
    h.style.left = `${(100 * box[0]) / p.width_px}%`;
    h.style.top = `${(100 * box[1]) / p.height_px}%`;
    h.style.width = `${(100 * (box[2] - box[0])) / p.width_px}%`;
    h.style.height = `${(100 * (box[3] - box[1])) / p.height_px}%`;
  } else {
    h.hidden = true;
  }
  applyZoom();
  if (!$('viewer').open) $('viewer').showModal();
  if (box) setTimeout(() => h.scrollIntoView({ block: 'center', inline: 'center' }), 50);
  else $('viewer-scroll').scrollTo(0, 0);
}

// Opens page n of document `id`; `box` [x0, y0, x1, y1] in page pixels is highlighted when given.
async function openPage(id, n, box, name) {
  try {
    showViewerPage(await documentInfo(id, name), n, box);
  } catch (e) {
    $('ask-error').textContent = `cannot open the page: ${e.message}`;
  }
}

function turnPage(step) {
  if (!state.viewer) return;
  const n = state.viewer.page + step;
  if (n >= 1 && n <= state.viewer.doc.pages.length) showViewerPage(state.viewer.doc, n, null);
}

// ---- asking -------------------------------------------------------------------------------

const MODE_NAMES = { qa: 'question', summary: 'summary', extract: 'extraction' };

function fieldList(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

// The task as the form says now: frozen when a button is pressed.
function askRequest() {
  const mode = $('mode').value;
  const body = { mode };
  if (mode === 'qa') {
    if (!$('question').value.trim()) throw new Error('type a question first');
    body.question = $('question').value.trim();
  }
  if (mode === 'extract') {
    const fields = fieldList($('fields').value);
    if (fields.length) body.fields = fields;
  }
  return body;
}

function resetAnswer() {
  $('answer').hidden = false;
  $('answer-source').textContent = '';
  $('reasoning').textContent = '';
  $('answer-text').textContent = '';
  $('answer-text').hidden = false;
  $('field-rows').replaceChildren();
  $('fields-box').hidden = true;
  $('raw-box').open = false;
  $('raw-json').textContent = '';
  $('citations').replaceChildren();
  $('citations-title').hidden = true;
  $('answer-usage').textContent = '';
  $('reasoning-box').open = false;
  $('reasoning-box').hidden = true;
}

function addReasoning(text) {
  $('reasoning-box').hidden = false;
  $('reasoning').textContent += text;
}

function describeTask(t) {
  if (t.mode === 'qa') return `question: ${t.question || ''}`;
  if (t.mode === 'extract') return `extraction${t.fields && t.fields.length ? `: ${t.fields.join(', ')}` : ' (key fields)'}`;
  return MODE_NAMES[t.mode] || t.mode || '';
}

// The JSON object in an extraction answer (bare or inside text), or null.
function answerObject(text) {
  if (typeof text !== 'string') return null;
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open < 0 || close < open) return null;
  try {
    const v = JSON.parse(text.slice(open, close + 1));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch { return null; }
}

function valueText(v) {
  if (v === null || v === undefined || v === '') return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof v.value === 'string') return v.value;
  return JSON.stringify(v);
}

// Rows of the fields table: { name, value, page, box }, the asked fields first (in their order),
// else what the reader found (key/value pairs, dates, amounts, ...).
function fieldRows(a, order) {
  const parsed = answerObject(a.answer) || {};
  const located = parsed.fields && typeof parsed.fields === 'object' ? parsed.fields : parsed;
  const rows = [];
  const given = a.fields && typeof a.fields === 'object' ? a.fields : {};
  // In the order asked (the answer's object is sorted by name).
  const names = [...new Set([...(order || []).filter((n) => n in given), ...Object.keys(given)])];
  const asked = names.map((n) => [n, given[n]]);
  for (const [name, value] of asked) {
    const src = located[name] && typeof located[name] === 'object' ? located[name] : {};
    rows.push({ name, value: valueText(value), page: src.page, box: src.bbox_px });
  }
  if (!asked.length) {
    for (const [group, v] of Object.entries(parsed)) {
      if (group === 'note' || group === 'fields') continue;
      if (Array.isArray(v)) {
        for (const item of v) {
          if (item && typeof item === 'object') {
            rows.push({ name: item.key || group, value: item.key ? valueText(item.value) : valueText(item.text ?? item), page: item.page, box: item.bbox_px });
          } else rows.push({ name: group, value: valueText(item) });
        }
      } else if (v && typeof v === 'object' && !('value' in v)) {
        rows.push({ name: group, value: JSON.stringify(v) });
      } else rows.push({ name: group, value: valueText(v), page: v && v.page, box: v && v.bbox_px });
    }
  }
  // A value the reader did not locate: the citation that quotes it, when one does.
  for (const r of rows) {
    if (r.page || !r.value) continue;
    const c = (a.citations || []).find((x) => x.quote && x.quote.includes(r.value));
    if (c) { r.page = c.page; r.box = c.box_px; }
  }
  return rows;
}

function citeButton(label, aria, docId, page, box, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'citation';
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  b.addEventListener('click', () => openPage(docId, page, box, name));
  return b;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Shows an answer; its citations open the pages of its own document (`name` its file name).
function showFinal(a, task, name) {
  const docId = a.document_id;
  $('answer').hidden = false;
  $('answer').dataset.document = docId || '';
  $('answer-source').textContent = `${documentLabel(docId, name)} · ${describeTask(task)}`;
  if (a.reasoning) {
    $('reasoning').textContent = '';
    addReasoning(a.reasoning);
  }
  const extract = (a.mode || task.mode) === 'extract';
  $('answer-text').hidden = extract;
  $('answer-text').textContent = extract ? '' : a.answer;
  $('fields-box').hidden = !extract;
  const rows = $('field-rows');
  rows.replaceChildren();
  if (extract) {
    for (const r of fieldRows(a, task.fields)) {
      const tr = document.createElement('tr');
      const k = document.createElement('th');
      k.scope = 'row';
      k.textContent = r.name;
      const v = document.createElement('td');
      v.textContent = r.value || '(not found)';
      if (!r.value) v.className = 'missing';
      const p = document.createElement('td');
      p.textContent = r.page ? String(r.page) : '–';
      const c = document.createElement('td');
      if (r.page && docId) c.append(citeButton('show', `Show ${r.name} on page ${r.page}`, docId, r.page, r.box || null, name));
      tr.append(k, v, p, c);
      rows.append(tr);
    }
    const raw = JSON.stringify(a, null, 2);
    $('raw-json').textContent = raw;
    $('download-json').onclick = () => download(`glyph-extraction-${(docId || 'answer').slice(0, 8)}.json`, raw);
  }
  const list = $('citations');
  list.replaceChildren();
  const citations = a.citations || [];
  $('citations-title').hidden = citations.length === 0 || extract;
  list.hidden = extract;
  citations.forEach((c, i) => {
    const li = document.createElement('li');
    li.append(citeButton(`[${i + 1}] page ${c.page}: “${c.quote.slice(0, 120)}${c.quote.length > 120 ? '…' : ''}”`,
      `Citation ${i + 1}: show on page ${c.page}`, docId, c.page, c.box_px, name));
    list.append(li);
  });
  const u = a.usage || {};
  $('answer-usage').textContent =
    `${a.model || ''}${a.seconds ? ` · ${a.seconds.toFixed(1)} s` : ''}` +
    (u.prompt_tokens >= 0 ? ` · prompt ${u.prompt_tokens} tokens` : '') +
    (u.visual_tokens ? ` · ${u.visual_tokens} visual vs ${u.text_tokens} text tokens` : '');
}

const STAGE_WORDS = { rasterizing: 'preparing page images', reading: 'reading' };

// Streams POST /v1/ask (SSE over fetch) into the page.
async function askNow() {
  $('ask-error').textContent = '';
  const task = askRequest();
  const source = documentRequest();
  const doc = await ensureRendered(source);
  const name = source.name;
  resetAnswer();
  $('answer-source').textContent = `${documentLabel(doc.document_id, name)} · ${describeTask(task)}`;
  const busy = busyLine('ask');
  busy.say(task.mode === 'extract' ? 'Extracting' : task.mode === 'summary' ? 'Summarizing' : 'Asking');
  state.askAbort = new AbortController();
  try {
    const res = await fetch('/v1/ask', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ document_id: doc.document_id, ...task, stream: true }),
      signal: state.askAbort.signal,
    });
    if (!res.ok) {
      let message = `HTTP ${res.status}`;
      try { const e = await res.json(); message = `${e.error.message} (${e.error.code})`; } catch { /* keep status */ }
      throw new Error(pageWords(message));
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let streamed = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        const payload = data ? JSON.parse(data) : {};
        if (event === 'content') {
          streamed += payload.text;
          if (task.mode !== 'extract') $('answer-text').textContent = streamed;
          busy.say('Writing the answer', 1);
        } else if (event === 'reasoning') addReasoning(payload.text);
        else if (event === 'restart') { streamed = ''; $('answer-text').textContent = ''; $('reasoning').textContent = ''; }
        else if (event === 'replace') {
          // The model closed a reasoning part its prompt opened: what streamed as the answer
          // was reasoning. Both texts come whole; later events append to them.
          streamed = payload.content || '';
          if (task.mode !== 'extract') $('answer-text').textContent = streamed;
          $('reasoning').textContent = '';
          if (payload.reasoning) addReasoning(payload.reasoning);
        }
        else if (event === 'progress') {
          const words = STAGE_WORDS[payload.stage] || payload.stage;
          busy.say(payload.total ? `${words}, ${payload.done} of ${payload.total}` : words,
            payload.total ? payload.done / payload.total : undefined);
        } else if (event === 'done') showFinal(payload, task, name);
        else if (event === 'error') throw new Error(pageWords(`${payload.error.message} (${payload.error.code})`));
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') throw new Error('stopped');
    throw e;
  } finally {
    state.askAbort = null;
    busy.done();
  }
}

// ---- background jobs ----------------------------------------------------------------------

async function queueJob() {
  $('ask-error').textContent = '';
  // Both read now, before the render: what is queued is what the form said at the press.
  const task = askRequest();
  const source = documentRequest();
  const doc = await ensureRendered(source);
  const body = { document_id: doc.document_id, ...task };
  if (source.name) body.file_name = source.name;
  const job = await api('POST', '/v1/jobs', body);
  state.jobs.set(job.id, job);
  drawJobs();
  startPolling();
}

const LIVE = ['queued', 'running'];

function cell(text, className) {
  const td = document.createElement('td');
  if (text !== undefined) td.textContent = text;
  if (className) td.className = className;
  return td;
}

function jobProgressText(job) {
  if (job.state === 'done') return 'done';
  if (job.state === 'queued') return 'waiting for a worker';
  if (job.state !== 'running') return '';
  // Until its first report (a heartbeat away) a claimed job is starting.
  return `${Math.floor((job.progress || 0) * 100)}% · ${job.progress_note || 'starting'}`;
}

function drawJobs() {
  const body = $('job-list');
  body.replaceChildren();
  if (!state.jobs.size) {
    const tr = document.createElement('tr');
    const td = cell('No jobs yet: Queue runs a request in the background; its result stays here.', 'note');
    td.colSpan = 6;
    tr.append(td);
    body.append(tr);
  }
  for (const job of [...state.jobs.values()].sort((a, b) => b.created_ms - a.created_ms)) {
    const short = job.id.slice(0, 8);
    const tr = document.createElement('tr');
    tr.dataset.jobId = job.id;
    tr.dataset.state = job.state;
    const id = cell(short);
    id.title = new Date(job.created_ms).toLocaleString();
    const docCell = cell(documentLabel(job.document_id, job.file_name), 'job-document');
    const request = cell(describeTask(job), 'job-request');
    const st = cell(job.state + (job.error ? ` (${pageWords(job.error.message)})` : ''), 'job-state');
    const prog = cell(undefined, 'job-progress');
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = job.state === 'done' ? 1 : job.progress || 0;
    bar.setAttribute('aria-label', `Progress of job ${short}`);
    const note = document.createElement('span');
    note.className = 'job-note';
    note.textContent = jobProgressText(job);
    prog.append(bar, note);
    const result = cell(undefined, 'job-result');
    if (job.result) {
      const pre = document.createElement('pre');
      const r = job.result;
      if (r.mode === 'extract') {
        const n = fieldRows(r, job.fields).filter((x) => x.value).length;
        pre.textContent = `${n} field${n === 1 ? '' : 's'} found`;
      } else pre.textContent = r.answer !== undefined ? r.answer : `${(r.pages || []).length} pages rendered`;
      result.append(pre);
      if (r.answer !== undefined) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary';
        b.textContent = 'Show';
        b.setAttribute('aria-label', `Show the answer of job ${short}`);
        b.addEventListener('click', () => {
          resetAnswer();
          showFinal(r, job, job.file_name);
          $('answer').scrollIntoView({ block: 'start' });
        });
        result.append(b);
      }
    } else if (LIVE.includes(job.state)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = 'Cancel';
      b.setAttribute('aria-label', `Cancel job ${short}`);
      b.addEventListener('click', async () => { await api('DELETE', `/v1/jobs/${job.id}`); poll(); });
      result.append(b);
    }
    tr.append(id, docCell, request, st, prog, result);
    body.append(tr);
  }
}

async function poll() {
  const live = [...state.jobs.values()].filter((j) => LIVE.includes(j.state));
  await Promise.all(live.map(async (j) => {
    try { state.jobs.set(j.id, await api('GET', `/v1/jobs/${j.id}`)); } catch { /* try again next tick */ }
  }));
  drawJobs();
  if (![...state.jobs.values()].some((j) => LIVE.includes(j.state))) {
    clearInterval(state.polling);
    state.polling = null;
  }
}

function startPolling() {
  if (!state.polling) state.polling = setInterval(poll, 700);
}

// The jobs the server knows, with the results of finished ones (the list leaves them out).
async function loadJobs() {
  const list = await api('GET', '/v1/jobs?limit=20');
  const full = await Promise.all(list.jobs.map(async (j) => {
    if (j.state !== 'done') return j;
    try { return await api('GET', `/v1/jobs/${j.id}`); } catch { return j; }
  }));
  for (const j of full) state.jobs.set(j.id, j);
  drawJobs();
  if (full.some((j) => LIVE.includes(j.state))) startPolling();
}

// ---- the form -----------------------------------------------------------------------------

function setBusy(busy) {
  for (const id of ['render', 'ask-now', 'queue']) $(id).disabled = busy;
}

function guard(fn, errorId) {
  return async (event) => {
    if (event) event.preventDefault();
    if ($('render').disabled) return;
    setBusy(true);
    $(errorId).textContent = '';
    try { await fn(); } catch (e) { $(errorId).textContent = e.message; } finally { setBusy(false); }
  };
}

function syncMode() {
  const mode = $('mode').value;
  $('fields').disabled = mode !== 'extract';
  $('fields-label').classList.toggle('disabled', mode !== 'extract');
  $('question').disabled = mode !== 'qa';
  $('question-label').classList.toggle('disabled', mode !== 'qa');
  $('question-label').textContent = mode === 'qa' ? 'Question' : 'Question (question answering only)';
}

function syncFile() {
  const f = $('file').files[0];
  $('file-clear').hidden = !f;
  $('text').disabled = Boolean(f);
  $('text').classList.toggle('replaced', Boolean(f));
  $('file-note').textContent = f
    ? `${f.name} (${f.size.toLocaleString('en-US')} bytes) will be rendered; the text above is not used while a file is chosen.`
    : '';
}

function clearFile() {
  $('file').value = '';
  syncFile();
  $('file').focus();
}

function syncPageSize() {
  $('page-size-custom-field').hidden = $('page-size').value !== 'custom';
}

// What a preset gives for a key: one value, or each preset's when they differ (preset auto,
// which picks en or zh by script).
function presetValue(key) {
  const name = $('preset').value;
  const names = name === 'auto' ? ['en', 'zh'] : [name];
  const values = [...new Set(names.map((n) => state.presets[n] && state.presets[n][key]).filter((v) => v !== undefined).map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v));
  return values;
}

const FONT_NAMES = { 'DejaVuSans.ttf': 'DejaVu Sans', 'DejaVuSansMono.ttf': 'DejaVu Sans Mono', 'NotoSansCJK-Regular.ttc#2': 'Noto CJK SC' };

function fontName(path) {
  const file = String(path).split('/').pop();
  return FONT_NAMES[file] || file.replace(/\.(ttf|otf|ttc)(#\d+)?$/i, '');
}

// Empty fields show the value in force (the preset's), never just "preset".
function showPresetValues() {
  const one = (key, show) => {
    const v = presetValue(key);
    return v.length ? v.map(show).join(' or ') : '';
  };
  $('font-size').placeholder = one('font-size', (v) => `${v} pt`);
  const size = num('font-size');
  $('line-height').placeholder = size !== null ? `${size + 1} pt (font size + 1)` : one('line-height', (v) => `${v} pt`);
  $('dpi').placeholder = one('dpi', (v) => `${v} dpi`);
  $('margin-x').placeholder = one('margin-x', (v) => `${v} pt`);
  $('margin-y').placeholder = one('margin-y', (v) => `${v} pt`);
  $('max-tokens').placeholder = one('max-text-tokens-per-page', (v) => (v > 0 ? String(v) : 'no cap'));
  const sizeNames = { '595,842': 'A4', '612,792': 'Letter', '420,595': 'A5', '842,1191': 'A3' };
  $('page-size').options[0].textContent = `${one('page-size', (v) => `${sizeNames[v] || ''} ${String(v).replace(',', ' × ')} pt`.trim())} (preset)`;
  $('font').options[0].textContent = `${presetValue('font-path').map(fontName).join(' / ')} (preset)`;
  const alignNames = { LEFT: 'left', CENTER: 'centered', RIGHT: 'right', JUSTIFY: 'justified' };
  $('alignment').options[0].textContent = `${one('alignment', (v) => alignNames[v] || v)} (preset)`;
  const newlineNames = { '<br/>': 'line break', ' ': 'space (join lines)' };
  $('newline').options[0].textContent = `${one('newline-markup', (v) => newlineNames[v] || 'red \\n marker')} (preset)`;
  $('markers').options[0].textContent = `${one('page-markers', String)} (preset)`;
  for (const id of ['font-color', 'page-bg-color']) {
    const v = presetValue(id);
    const el = $(id);
    const old = el.dataset.preset || el.defaultValue;
    if (v.length === 1) {
      if (el.value.toLowerCase() === old.toLowerCase()) el.value = v[0].toLowerCase();
      el.dataset.preset = v[0].toLowerCase();
    }
  }
}

function resetConfig() {
  for (const id of ['font-size', 'line-height', 'dpi', 'margin-x', 'margin-y', 'max-tokens', 'page-size-custom']) $(id).value = '';
  for (const id of ['page-size', 'font', 'alignment', 'newline', 'markers']) $(id).value = '';
  for (const id of ['font-color', 'page-bg-color']) $(id).value = $(id).dataset.preset || $(id).defaultValue;
  syncPageSize();
  showPresetValues();
}

async function loadFonts() {
  const select = $('font');
  const seen = new Set();
  const group = (label, fonts) => {
    const g = document.createElement('optgroup');
    g.label = label;
    for (const f of fonts) {
      if (seen.has(f.path)) continue;
      seen.add(f.path);
      const o = document.createElement('option');
      o.value = f.path;
      o.textContent = f.name;
      g.append(o);
    }
    if (g.children.length) select.append(g);
  };
  group('The presets\' fonts', Object.entries(state.presets).map(([n, c]) => ({ path: c['font-path'], name: `${fontName(c['font-path'])} (${n})` })));
  const installed = await api('GET', '/v1/fonts');
  group('Installed fonts', installed.fonts);
}

function onKeys(event) {
  if (!$('viewer').open) return;
  if (event.target === $('zoom')) return;
  if (event.key === 'ArrowLeft' || event.key === 'PageUp') { event.preventDefault(); turnPage(-1); }
  if (event.key === 'ArrowRight' || event.key === 'PageDown') { event.preventDefault(); turnPage(1); }
}

window.addEventListener('DOMContentLoaded', async () => {
  const renderNow = guard(async () => { await renderDocument(documentRequest()); }, 'render-error');
  $('doc-form').addEventListener('submit', renderNow);
  $('ask-form').addEventListener('submit', guard(askNow, 'ask-error'));
  $('queue').addEventListener('click', guard(queueJob, 'ask-error'));
  $('question').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('ask-form').requestSubmit();
    }
  });
  $('ask-stop').addEventListener('click', () => { if (state.askAbort) state.askAbort.abort(); });
  $('mode').addEventListener('change', syncMode);
  $('zoom').addEventListener('input', applyZoom);
  $('viewer-close').addEventListener('click', () => $('viewer').close());
  $('viewer-prev').addEventListener('click', () => turnPage(-1));
  $('viewer-next').addEventListener('click', () => turnPage(1));
  document.addEventListener('keydown', onKeys);
  $('file').addEventListener('change', syncFile);
  $('file-clear').addEventListener('click', clearFile);
  $('page-size').addEventListener('change', syncPageSize);
  $('preset').addEventListener('change', showPresetValues);
  $('font-size').addEventListener('input', showPresetValues);
  $('reset-config').addEventListener('click', resetConfig);
  syncMode();
  syncFile();
  syncPageSize();
  try {
    const h = await api('GET', '/health');
    $('server-status').textContent = `server ${h.version} · reader: ${h.reader}`;
    const presets = await api('GET', '/v1/presets');
    for (const p of presets.presets) state.presets[p.name] = p.config;
    showPresetValues();
    await loadFonts();
    await loadJobs();
  } catch (e) {
    $('server-status').textContent = `server not reachable: ${e.message}`;
  }
  document.body.dataset.ready = 'true';
});
