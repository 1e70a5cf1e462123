// The Glyph web page: render a document, show its pages and token stats, ask about it (streamed)
// or queue a background job. Plain JavaScript; talks only to the server it came from.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { doc: null, docKey: '', jobs: new Map(), polling: null };

function setBusy(busy) {
  for (const id of ['render', 'ask-now', 'queue']) $(id).disabled = busy;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const message = data && data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`;
    throw new Error(message);
  }
  return data;
}

// The config overrides chosen in the form (Glyph config keys).
function configOverrides() {
  const c = { preset: $('preset').value };
  const num = (id) => ($(id).value === '' ? null : Number($(id).value));
  if (num('font-size') !== null) c['font-size'] = num('font-size');
  if (num('dpi') !== null) c.dpi = num('dpi');
  if (num('line-height') !== null) c['line-height'] = num('line-height');
  if ($('newline').value !== '') c['newline-markup'] = $('newline').value;
  if (num('max-tokens') !== null && num('max-tokens') > 0) c['max-text-tokens-per-page'] = num('max-tokens');
  if ($('markers').value !== 'none') c['page-markers'] = $('markers').value;
  return c;
}

function currentKey() {
  const f = $('file').files[0];
  return JSON.stringify([f ? `${f.name}:${f.size}:${f.lastModified}` : $('text').value, configOverrides()]);
}

async function render() {
  $('render-error').textContent = '';
  const file = $('file').files[0];
  let data;
  if (file) {
    const form = new FormData();
    form.append('file', file, file.name);
    form.append('config', JSON.stringify(configOverrides()));
    data = await api('POST', '/v1/render', form);
  } else {
    if (!$('text').value.trim()) throw new Error('paste a text or upload a file first');
    data = await api('POST', '/v1/render', { text: $('text').value, config: configOverrides() });
  }
  state.doc = data;
  state.docKey = currentKey();
  showDocument(data);
  return data;
}

async function ensureRendered() {
  if (state.doc && state.docKey === currentKey()) return state.doc;
  return render();
}

function fmt(n) { return typeof n === 'number' && n >= 0 ? n.toLocaleString('en-US') : '–'; }

function showDocument(d) {
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
    b.addEventListener('click', () => openPage(p.number, null));
    li.append(b);
    gallery.append(li);
  }
  if (d.warnings && d.warnings.length) $('file-note').textContent = d.warnings.join('; ');
}

function pageInfo(n) {
  return state.doc && state.doc.pages.find((p) => p.number === n);
}

function applyZoom() {
  const p = pageInfo(Number($('viewer-page').dataset.page));
  if (!p) return;
  $('viewer-page').style.width = `${(p.width_px * Number($('zoom').value)) / 100}px`;
}

// Opens a page in the viewer; `box` [x0, y0, x1, y1] in page pixels is highlighted when given.
function openPage(n, box) {
  const p = pageInfo(n);
  if (!p) return;
  $('viewer-title').textContent = `Page ${n} of ${state.doc.pages.length}`;
  $('viewer-img').src = p.url;
  $('viewer-img').alt = `Rendered page ${n}, zoomed`;
  $('viewer-page').dataset.page = String(n);
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
}

function askBody(doc) {
  const body = { document_id: doc.document_id, mode: $('mode').value };
  if (body.mode === 'qa') body.question = $('question').value;
  else if ($('question').value.trim()) body.question = $('question').value;
  if (body.mode === 'extract') body.fields = $('fields').value.split(',').map((s) => s.trim()).filter(Boolean);
  return body;
}

function resetAnswer() {
  $('answer').hidden = false;
  $('reasoning').textContent = '';
  $('answer-text').textContent = '';
  $('answer-fields').replaceChildren();
  $('citations').replaceChildren();
  $('answer-usage').textContent = '';
  $('reasoning-box').open = false;
  $('reasoning-box').hidden = true;
}

function addReasoning(text) {
  $('reasoning-box').hidden = false;
  $('reasoning').textContent += text;
}

function showFinal(a) {
  $('answer-text').textContent = a.answer;
  if (a.reasoning) {
    $('reasoning').textContent = '';
    addReasoning(a.reasoning);
  }
  const fields = $('answer-fields');
  fields.replaceChildren();
  for (const [k, v] of Object.entries(a.fields || {})) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    fields.append(dt, dd);
  }
  const list = $('citations');
  list.replaceChildren();
  (a.citations || []).forEach((c, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'citation';
    b.textContent = `[${i + 1}] page ${c.page}: “${c.quote.slice(0, 120)}${c.quote.length > 120 ? '…' : ''}”`;
    b.setAttribute('aria-label', `Citation ${i + 1}: show on page ${c.page}`);
    b.addEventListener('click', () => openPage(c.page, c.box_px));
    li.append(b);
    list.append(li);
  });
  const u = a.usage || {};
  $('answer-usage').textContent =
    `${a.model || ''} · ${a.seconds ? a.seconds.toFixed(1) + ' s' : ''}` +
    (u.prompt_tokens >= 0 ? ` · prompt ${u.prompt_tokens} tokens` : '') +
    (u.visual_tokens ? ` · ${u.visual_tokens} visual vs ${u.text_tokens} text tokens` : '');
}

// Streams POST /v1/ask (SSE over fetch) into the page.
async function askNow() {
  $('ask-error').textContent = '';
  const doc = await ensureRendered();
  resetAnswer();
  const res = await fetch('/v1/ask', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...askBody(doc), stream: true }),
  });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try { const e = await res.json(); message = `${e.error.code}: ${e.error.message}`; } catch { /* keep status */ }
    throw new Error(message);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
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
      if (event === 'content') $('answer-text').textContent += payload.text;
      else if (event === 'reasoning') addReasoning(payload.text);
      else if (event === 'restart') { $('answer-text').textContent = ''; $('reasoning').textContent = ''; }
      else if (event === 'done') showFinal(payload);
      else if (event === 'error') throw new Error(`${payload.error.code}: ${payload.error.message}`);
    }
  }
}

async function queueJob() {
  $('ask-error').textContent = '';
  const doc = await ensureRendered();
  const job = await api('POST', '/v1/jobs', askBody(doc));
  state.jobs.set(job.id, job);
  drawJobs();
  startPolling();
}

function drawJobs() {
  const body = $('job-list');
  body.replaceChildren();
  for (const job of [...state.jobs.values()].sort((a, b) => b.created_ms - a.created_ms)) {
    const tr = document.createElement('tr');
    tr.dataset.jobId = job.id;
    tr.dataset.state = job.state;
    const id = document.createElement('td');
    id.textContent = job.id.slice(0, 8);
    const mode = document.createElement('td');
    mode.textContent = job.mode || '';
    const st = document.createElement('td');
    st.className = 'job-state';
    st.textContent = job.state + (job.error ? ` (${job.error.message})` : '');
    const prog = document.createElement('td');
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = job.progress || 0;
    bar.setAttribute('aria-label', `Progress of job ${job.id.slice(0, 8)}`);
    prog.append(bar);
    const result = document.createElement('td');
    result.className = 'job-result';
    if (job.result) {
      const pre = document.createElement('pre');
      pre.textContent = job.result.answer !== undefined ? job.result.answer : JSON.stringify(job.result, null, 1);
      result.append(pre);
      if (job.result.answer !== undefined) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary';
        b.textContent = 'Show';
        b.setAttribute('aria-label', `Show the answer of job ${job.id.slice(0, 8)}`);
        b.addEventListener('click', () => { resetAnswer(); showFinal(job.result); });
        result.append(b);
      }
    } else if (['queued', 'running'].includes(job.state)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = 'Cancel';
      b.setAttribute('aria-label', `Cancel job ${job.id.slice(0, 8)}`);
      b.addEventListener('click', async () => { await api('DELETE', `/v1/jobs/${job.id}`); poll(); });
      result.append(b);
    }
    tr.append(id, mode, st, prog, result);
    body.append(tr);
  }
}

async function poll() {
  const live = [...state.jobs.values()].filter((j) => ['queued', 'running'].includes(j.state));
  for (const j of live) {
    try { state.jobs.set(j.id, await api('GET', `/v1/jobs/${j.id}`)); } catch { /* try again next tick */ }
  }
  drawJobs();
  if (![...state.jobs.values()].some((j) => ['queued', 'running'].includes(j.state))) {
    clearInterval(state.polling);
    state.polling = null;
  }
}

function startPolling() {
  if (!state.polling) state.polling = setInterval(poll, 700);
}

function guard(fn, errorId) {
  return async () => {
    setBusy(true);
    try { await fn(); } catch (e) { $(errorId).textContent = e.message; } finally { setBusy(false); }
  };
}

function syncMode() {
  const extract = $('mode').value === 'extract';
  $('fields').disabled = !extract;
  $('fields-label').classList.toggle('disabled', !extract);
}

window.addEventListener('DOMContentLoaded', async () => {
  $('render').addEventListener('click', guard(render, 'render-error'));
  $('ask-now').addEventListener('click', guard(askNow, 'ask-error'));
  $('queue').addEventListener('click', guard(queueJob, 'ask-error'));
  $('mode').addEventListener('change', syncMode);
  $('zoom').addEventListener('input', applyZoom);
  $('viewer-close').addEventListener('click', () => $('viewer').close());
  $('file').addEventListener('change', () => {
    const f = $('file').files[0];
    $('file-note').textContent = f ? `${f.name} (${f.size.toLocaleString('en-US')} bytes) will be rendered instead of the text` : '';
  });
  syncMode();
  try {
    const h = await api('GET', '/health');
    $('server-status').textContent = `server ${h.version} · reader: ${h.reader}`;
    const jobs = await api('GET', '/v1/jobs?limit=20');
    for (const j of jobs.jobs) state.jobs.set(j.id, j);
    drawJobs();
    if (jobs.jobs.some((j) => ['queued', 'running'].includes(j.state))) startPolling();
  } catch (e) {
    $('server-status').textContent = `server not reachable: ${e.message}`;
  }
});
