/* The latent explorer of the course's website: a trained decoder, run in the reader's browser.
 *
 * website/export.py (`make figures`) writes each 2-D decoder of the lessons as float16 weights
 * (decoders/<name>.bin) with a manifest; this file decodes a code with them, in plain
 * JavaScript: a matrix product per layer, a ReLU between layers, a sigmoid at the end, exactly
 * what the course's `models.mlp` decoder computes in torch. Any element
 * <div class="latent-explorer" data-decoder="NAME"> becomes a pad over the code space, with the
 * lesson's code scatter under it, and the digit the code decodes to (digit buttons for a CVAE).
 *
 * Under Node (tests/test_site.py) only the decoding part is used: module.exports.
 */
(function () {
  "use strict";

  // ---- Decoding ---------------------------------------------------------------------------

  // A float16 number from its 16 bits: sign, 5 exponent bits, 10 fraction bits.
  function half(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }

  // The float16 array described by {offset, shape} in `buffer`, as a Float32Array.
  function halves(buffer, { offset, shape }) {
    const size = shape.reduce((a, b) => a * b, 1);
    const bits = new Uint16Array(buffer, offset, size);
    return Float32Array.from(bits, half);
  }

  // A decoder from its manifest entry and the bytes of its .bin file.
  function loadDecoder(entry, buffer) {
    return {
      latentDim: entry.latent_dim,
      numClasses: entry.num_classes,
      layers: entry.layers.map(({ weight, bias }) => ({
        W: halves(buffer, weight), b: halves(buffer, bias),
        nOut: weight.shape[0], nIn: weight.shape[1],
      })),
      codes: halves(buffer, entry.scatter.codes),
      labels: new Uint8Array(buffer, entry.scatter.labels.offset, entry.scatter.labels.shape[0]),
      box: entry.box,
    };
  }

  // The pixel probabilities [784] of the code z; a CVAE's input is z followed by the one-hot
  // digit. Each layer computes W x + b (W is [out, in], row-major, as nn.Linear keeps it).
  function decode(decoder, z, digit) {
    let x = new Float32Array(decoder.layers[0].nIn);
    x.set(z);
    if (decoder.numClasses) x[decoder.latentDim + digit] = 1;
    const last = decoder.layers.length - 1;
    decoder.layers.forEach(({ W, b, nIn, nOut }, k) => {
      const y = new Float32Array(nOut);
      for (let o = 0; o < nOut; o++) {
        let sum = b[o];
        for (let i = 0, row = o * nIn; i < nIn; i++) sum += W[row + i] * x[i];
        y[o] = k < last ? Math.max(sum, 0) : 1 / (1 + Math.exp(-sum));
      }
      x = y;
    });
    return x;
  }

  if (typeof module === "object" && module.exports) {
    module.exports = { half, loadDecoder, decode };
    return;
  }

  // ---- The explorer in the page -------------------------------------------------------------

  const DECODERS = new URL("decoders/", document.currentScript.src);
  const PAD = 300; // CSS pixels of the square pad
  const SIDE = 28; // pixels of an MNIST digit
  let manifest = null;

  function element(tag, className, parent) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (parent) parent.appendChild(el);
    return el;
  }

  function canvas(className, width, height, parent) {
    const c = element("canvas", className, parent);
    const ratio = window.devicePixelRatio || 1;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    c.getContext("2d").scale(ratio, ratio);
    return c;
  }

  async function build(container) {
    const name = container.dataset.decoder;
    manifest = manifest || (await (await fetch(new URL("manifest.json", DECODERS))).json());
    const entry = manifest.decoders[name];
    const response = await fetch(new URL(entry.file, DECODERS));
    const decoder = loadDecoder(entry, await response.arrayBuffer());
    const colors = manifest.digit_colors;
    const [x0, x1, y0, y1] = decoder.box;
    const toPad = (z1, z2) => [((z1 - x0) / (x1 - x0)) * PAD, ((y1 - z2) / (y1 - y0)) * PAD];
    const fromPad = (px, py) => [x0 + (px / PAD) * (x1 - x0), y1 - (py / PAD) * (y1 - y0)];
    const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    // Start at the code of the first test digit, under its own label.
    const state = { z: [clamp(decoder.codes[0], x0, x1), clamp(decoder.codes[1], y0, y1)],
      digit: decoder.labels[0] };

    const widget = element("div", "le-widget");
    container.prepend(widget);
    let buttons = [];
    if (decoder.numClasses) {
      const row = element("div", "le-digits", widget);
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", "digit to draw");
      buttons = Array.from({ length: decoder.numClasses }, (_, d) => {
        const button = element("button", "le-digit", row);
        button.type = "button";
        button.textContent = d;
        button.style.borderBottomColor = colors[d];
        button.addEventListener("click", () => { state.digit = d; drawScatter(); schedule(); });
        return button;
      });
    }
    const body = element("div", "le-body", widget);
    const pad = canvas("le-pad", PAD, PAD, body);
    pad.tabIndex = 0;
    pad.setAttribute("aria-label", "the 2-D code: drag, or move with the arrow keys");
    if (!decoder.numClasses) { // which colour is which digit
      const legend = element("div", "le-legend", widget);
      legend.append("digits: ");
      colors.forEach((color, d) => {
        const key = element("span", "le-key", legend);
        key.textContent = d;
        key.style.color = color;
      });
    }
    const side = element("div", "le-side", body);
    const picture = canvas("le-digit-image", SIDE, SIDE, side);
    picture.style.width = picture.style.height = `${SIDE * 6}px`;
    const readout = element("div", "le-readout", side);

    // The scatter is drawn once per digit, into a canvas that each redraw copies.
    const scatter = document.createElement("canvas");
    scatter.width = pad.width;
    scatter.height = pad.height;
    function drawScatter() {
      const ctx = scatter.getContext("2d");
      const ratio = scatter.width / PAD;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, PAD, PAD);
      const chosen = decoder.numClasses ? state.digit : -1;
      for (const pass of [false, true]) { // the chosen digit's codes last, on top
        for (let n = 0; n < decoder.labels.length; n++) {
          const label = decoder.labels[n];
          if ((label === chosen) !== pass) continue;
          const [px, py] = toPad(decoder.codes[2 * n], decoder.codes[2 * n + 1]);
          ctx.globalAlpha = chosen < 0 || pass ? 0.6 : 0.3;
          ctx.fillStyle = chosen < 0 || pass ? colors[label] : "#bbb";
          ctx.fillRect(px - 1, py - 1, 2, 2);
        }
      }
      ctx.globalAlpha = 1;
      ctx.font = "11px sans-serif"; // the axes' names and ranges, in two corners
      ctx.textBaseline = "top";
      const corner = (text, y) => {
        ctx.fillStyle = "rgba(255, 255, 255, 0.8)";
        ctx.fillRect(2, y - 1, ctx.measureText(text).width + 4, 14);
        ctx.fillStyle = "#444";
        ctx.fillText(text, 4, y);
      };
      corner(`\u2191 z2 from ${y0.toFixed(1)} to ${y1.toFixed(1)}`, 3);
      corner(`z1 from ${x0.toFixed(1)} to ${x1.toFixed(1)} \u2192`, PAD - 15);
      buttons.forEach((b, d) => b.setAttribute("aria-pressed", String(d === state.digit)));
    }

    const image = picture.getContext("2d");
    const pixels = new ImageData(SIDE, SIDE);
    const small = document.createElement("canvas");
    small.width = small.height = SIDE;
    function redraw() {
      const start = performance.now();
      const probs = decode(decoder, state.z, state.digit);
      for (let i = 0; i < probs.length; i++) { // ink dark on paper, like the lessons' figures
        const grey = Math.round(255 * (1 - probs[i]));
        pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = grey;
        pixels.data[4 * i + 3] = 255;
      }
      small.getContext("2d").putImageData(pixels, 0, 0);
      image.imageSmoothingEnabled = false;
      image.drawImage(small, 0, 0, SIDE, SIDE);
      const ctx = pad.getContext("2d");
      ctx.drawImage(scatter, 0, 0, PAD, PAD);
      const [px, py] = toPad(...state.z);
      ctx.strokeStyle = "rgba(0, 0, 0, 0.35)";
      ctx.beginPath();
      ctx.moveTo(px, 0); ctx.lineTo(px, PAD); ctx.moveTo(0, py); ctx.lineTo(PAD, py);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.fillStyle = "#000";
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      ctx.lineWidth = 1;
      const ms = performance.now() - start;
      const label = decoder.numClasses ? `, digit ${state.digit}` : "";
      readout.textContent = `z = (${state.z[0].toFixed(2)}, ${state.z[1].toFixed(2)})${label}\n` +
        `decoded and drawn in ${ms.toFixed(1)} ms`;
      container.dataset.z = state.z.join(",");
      container.dataset.digit = state.digit;
      container.dataset.redrawMs = ms.toFixed(3);
    }
    let pending = false;
    function schedule() { // at most one redraw per frame, however fast the pointer moves
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => { pending = false; redraw(); });
      }
    }

    function moveTo(event) {
      const rect = pad.getBoundingClientRect();
      const px = clamp(event.clientX - rect.left, 0, PAD);
      const py = clamp(event.clientY - rect.top, 0, PAD);
      state.z = fromPad(px, py);
      schedule();
    }
    pad.addEventListener("pointerdown", (event) => {
      pad.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    pad.addEventListener("pointermove", (event) => { if (event.buttons) moveTo(event); });
    pad.addEventListener("keydown", (event) => {
      const step = (x1 - x0) / 50;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0],
        ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) {
        state.z = [clamp(state.z[0] + moves[event.key][0], x0, x1),
          clamp(state.z[1] + moves[event.key][1], y0, y1)];
      } else if (decoder.numClasses && /^[0-9]$/.test(event.key)) {
        state.digit = Number(event.key);
        drawScatter();
      } else {
        return;
      }
      event.preventDefault();
      schedule();
    });
    // For the site's browser check, and for readers who like the console.
    container.explorer = {
      decoder, state,
      set(z, digit) {
        state.z = z;
        if (digit !== undefined) { state.digit = digit; drawScatter(); }
        redraw();
      },
    };
    drawScatter();
    redraw();
    redraw(); // the first one also sets the canvases up: show the time of a usual one
    container.classList.add("le-ready");
  }

  function start() {
    document.querySelectorAll(".latent-explorer").forEach((container) => {
      build(container).catch((error) => {
        const note = element("p", "le-error");
        note.textContent = "The explorer could not load its decoder (" + error.message + "). " +
          "Browsers do not let a page opened from a file load it: serve the folder, for " +
          "example with `python -m http.server -d build/site`.";
        container.prepend(note);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
