#!/usr/bin/env node
// Make OpenAI's OpenAPI 3.1 spec usable for Prism request validation.
//
// Usage: node scripts/prism/fix-spec.js IN.yml OUT.json PRISM_DIR   (run by scripts/servers.sh install prism)
//
// Why: the spec carries the OAS-3.0 keyword `nullable: true` on 24 schemas that
// have no sibling `type` (e.g. CreateChatCompletionRequest.prediction,
// CreateCompletionRequest.prompt). Prism's Ajv throws
//   "nullable" cannot be used without "type"
// while compiling the request schema, swallows the error, and then lets EVERY
// body through (no 422) for /chat/completions, /completions, /moderations,
// /images/generations, ... This rewrites only those spots, keeping the intent
// (null allowed):
//   {oneOf|anyOf: [...], nullable: true} -> add {type: "null"} to the list
//   {$ref: X, nullable: true}            -> {anyOf: [{$ref: X}, {type: "null"}]}
//   {nullable: true} (no type at all)    -> drop `nullable` (any value already ok)
// `nullable` next to `type` is left alone (Ajv handles it).
'use strict';
const fs = require('fs');
const [, , inPath, outPath, prismDir] = process.argv;
if (!inPath || !outPath) {
  console.error('usage: node fix-spec.js IN.yml OUT.json [PRISM_DIR]');
  process.exit(2);
}
const yaml = require(require.resolve('js-yaml', { paths: [prismDir || process.cwd(), __dirname] }));
const spec = yaml.load(fs.readFileSync(inPath, 'utf8'));
const stats = { oneOf: 0, anyOf: 0, ref: 0, dropped: 0 };

function fix(o) {
  if (Array.isArray(o)) { o.forEach(fix); return; }
  if (!o || typeof o !== 'object') return;
  if (o.nullable === true && !('type' in o)) {
    delete o.nullable;
    if (Array.isArray(o.oneOf)) { o.oneOf.push({ type: 'null' }); stats.oneOf++; }
    else if (Array.isArray(o.anyOf)) { o.anyOf.push({ type: 'null' }); stats.anyOf++; }
    else if (typeof o.$ref === 'string') {
      o.anyOf = [{ $ref: o.$ref }, { type: 'null' }];
      delete o.$ref;
      stats.ref++;
    } else stats.dropped++;
  } else if (o.nullable === false && !('type' in o)) {
    delete o.nullable;
    stats.dropped++;
  }
  for (const k of Object.keys(o)) fix(o[k]);
}
fix(spec);
fs.writeFileSync(outPath, JSON.stringify(spec));
console.error(`fix-spec: ${JSON.stringify(stats)} -> ${outPath}`);
