// Reference token ids from @lenml/tokenizers (a JavaScript port of Hugging Face's tokenizers),
// for the tokenizer tests. Usage:
//   node tests/js/tokenize_reference.js TOKENIZER_JSON CORPUS_JSON [TEXT_FILE...]
// CORPUS_JSON is a JSON array of strings. Prints one JSON array holding, for each corpus string
// and then each text file, the array of ids of encode(text, {add_special_tokens: false}).
'use strict';
const fs = require('fs');
const path = require('path');

const modules = path.join(__dirname, '..', '..', 'js', 'node_modules');
const { TokenizerLoader } = require(path.join(modules, '@lenml', 'tokenizers'));

const [tokenizerPath, corpusPath, ...files] = process.argv.slice(2);
if (!tokenizerPath || !corpusPath) {
  console.error('usage: tokenize_reference.js TOKENIZER_JSON CORPUS_JSON [TEXT_FILE...]');
  process.exit(2);
}
const tokenizerJSON = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'));
const configPath = path.join(path.dirname(tokenizerPath), 'tokenizer_config.json');
const tokenizerConfig = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, 'utf8')) : {};
const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

const texts = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
for (const file of files) texts.push(fs.readFileSync(file, 'utf8'));
const out = texts.map((text) => tokenizer.encode(text, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(out) + '\n');
