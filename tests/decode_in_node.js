// Decode codes with the website's own explorer.js and weight files, under Node (tests/test_site.py).
//
//   node tests/decode_in_node.js DECODERS_FOLDER CODES.json
//
// CODES.json is {name: {codes: [[z1, z2], ...], digits: [d, ...]}}; prints
// {name: [[784 pixel probabilities], ...]} as JSON.
"use strict";
const fs = require("fs");
const path = require("path");
const { loadDecoder, decode } = require("../website/_static/explorer.js");

const [folder, codesFile] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
const requests = JSON.parse(fs.readFileSync(codesFile, "utf8"));
const decoded = {};
for (const [name, { codes, digits }] of Object.entries(requests)) {
  const entry = manifest.decoders[name];
  const bytes = fs.readFileSync(path.join(folder, entry.file));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const decoder = loadDecoder(entry, buffer);
  decoded[name] = codes.map((z, n) => Array.from(decode(decoder, z, digits[n])));
}
process.stdout.write(JSON.stringify(decoded));
