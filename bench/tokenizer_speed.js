// Side-by-side tokenizer speed: tiktoken (npm; Rust compiled to WebAssembly) and glyph's
// Tokenizer (build/glyph_bench) on the same English and Chinese text, in MB/s of UTF-8 input.
// Usage: node bench/tokenizer_speed.js BUILD_DIR   (bench/tokenizer_vs_tiktoken.sh runs it)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..');
const buildDir = path.resolve(process.argv[2] || path.join(root, 'build'));
const { get_encoding } = require(path.join(root, 'js', 'node_modules', 'tiktoken'));

// The texts: the four examples, and random sentences of common Chinese words (the same
// generator as bench/tokenizer_bench.cc).
function english() {
  let all = '';
  for (let i = 1; i <= 4; ++i) {
    all += fs.readFileSync(path.join(root, '..', 'shared', 'data', 'examples', `case${i}.txt`), 'utf8');
  }
  return all;
}
function chinese(bytes) {
  const words = fs.readFileSync(path.join(root, 'bench', 'data', 'zh_words.txt'), 'utf8').split(/\s+/).filter(Boolean);
  let x = 20240601;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return x >>> 16;
  };
  const parts = [];
  let size = 0, sentence = 0;
  while (size < bytes) {
    const length = 4 + (next() % 9);
    let s = '';
    for (let i = 0; i < length; ++i) s += words[next() % words.length];
    s += next() % 3 === 0 ? '。' : '，';
    if (++sentence % 12 === 0) s += '\n';
    parts.push(s);
    size += Buffer.byteLength(s);
  }
  return parts.join('');
}

function tiktokenMBps(encoding, text) {
  const bytes = Buffer.byteLength(text);
  encoding.encode(text);  // warm up
  let runs = 0, tokens = 0;
  // CPU time, as glyph_bench reports it: the machine may be shared.
  const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const start = cpuSeconds();
  let elapsed = 0;
  while (elapsed < 2.0 || runs < 3) {
    tokens = encoding.encode(text).length;
    ++runs;
    elapsed = cpuSeconds() - start;
  }
  return { mbps: (bytes * runs) / elapsed / 1e6, tokens };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glyph-tokenizer-speed-'));
const texts = { english: english(), chinese: chinese(300000) };
for (const [name, text] of Object.entries(texts)) fs.writeFileSync(path.join(dir, `${name}.txt`), text);

const out = execFileSync(path.join(buildDir, 'glyph_bench'),
  ['--benchmark_filter=BM_tokenizer_', '--benchmark_format=json', '--benchmark_min_time=2'],
  { env: { ...process.env, GLYPH_BENCH_TEXT_DIR: dir }, maxBuffer: 1 << 24 });
const results = JSON.parse(out.toString()).benchmarks;
const ours = (name) => results.find((b) => b.name.split('/').slice(0, 2).join('/') === `BM_tokenizer_${name}` ||
                                          b.name.split('/')[0] === `BM_tokenizer_${name}`);

const encodings = ['cl100k_base', 'o200k_base'].map((n) => [n, get_encoding(n)]);
console.log('MB/s of UTF-8 input, CPU time, one thread. glyph: Qwen3 tokenizer.json; cold = word cache emptied');
console.log('before each pass (what one pass over a new document costs), warm = cache kept between passes.');
console.log('| text | bytes | glyph cold | glyph warm | tiktoken cl100k | tiktoken o200k | cold ÷ cl100k | cold ÷ o200k |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, text] of Object.entries(texts)) {
  const cold = ours(`${name}/0`).bytes_per_second / 1e6;
  const warm = ours(`${name}/1`).bytes_per_second / 1e6;
  const t = encodings.map(([, e]) => tiktokenMBps(e, text));
  console.log(`| ${name} | ${Buffer.byteLength(text)} | ${cold.toFixed(1)} | ${warm.toFixed(1)} | ` +
              `${t[0].mbps.toFixed(1)} | ${t[1].mbps.toFixed(1)} | ${(cold / t[0].mbps).toFixed(1)}x | ` +
              `${(cold / t[1].mbps).toFixed(1)}x |`);
}
const load = ours('load_qwen3');
console.log(`load of Qwen3's tokenizer.json (151,669 tokens, 151,387 merges): ${load.cpu_time.toFixed(0)} ms CPU`);
for (const [, e] of encodings) e.free();
fs.rmSync(dir, { recursive: true, force: true });
