// The demo page: draw a digit, LeNet-5 (trained natively by `tessera train lenet5`) classifies it
// live; a second panel trains a LeNet-5 in this tab. Under each pad, the model's first-layer
// filters and its first two conv layers' feature maps of the drawing, updated live. All compute is Tessera compiled to wasm,
// on WebGPU when the browser has it (CPU backend otherwise). Nothing here blocks: every
// Tessera call that reads results back returns a promise.
import init, { Engine, Classifier, Trainer, mnistFromRgba } from './tessera_web.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LEARNING_RATE = 2e-3;

function setStatus(text, kind = '') {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${kind}`;
}

/** Parses a `TSMN` file: magic, u32 LE count, count×784 u8 pixels, count u8 labels. */
function parseSubset(buf) {
  const bytes = new Uint8Array(buf);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'TSMN') throw new Error(`not a TSMN file (magic ${magic})`);
  const n = new DataView(buf).getUint32(4, true);
  return { n, images: bytes.subarray(8, 8 + n * 784), labels: bytes.subarray(8 + n * 784, 8 + n * 785) };
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (run web/build.sh)`);
  return r.arrayBuffer();
}

/** A canvas to draw on with a mouse, pen or finger: dark ink on white paper. */
class Pad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.last = null;
    this.clear();
    const pos = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = pos(e);
      this.line(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.last) return;
      const p = pos(e);
      this.line(this.last, p);
      this.last = p;
    });
    const end = () => { this.last = null; };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }
  clear() {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
    this.onChange(this);
  }
  line(a, b) {
    const c = this.ctx;
    c.strokeStyle = '#000';
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(...a);
    c.lineTo(...b);
    c.stroke();
    this.empty = false;
    this.onChange(this);
  }
  /** Shows a 28×28 MNIST image (u8, white on black) as dark ink on the pad, scaled up. */
  showMnist(pixels) {
    const small = new OffscreenCanvas(28, 28);
    const img = new ImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = 255 - pixels[i];
      img.data.set([v, v, v, 255], i * 4);
    }
    small.getContext('2d').putImageData(img, 0, 0);
    this.ctx.imageSmoothingEnabled = true;
    this.ctx.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
    this.empty = false;
    this.onChange(this);
  }
  /** The drawing as MNIST sees digits: cropped, scaled, centred, 28×28 floats in [0, 1]. */
  pixels() {
    const { width, height } = this.canvas;
    return mnistFromRgba(this.ctx.getImageData(0, 0, width, height).data, width, height);
  }
}

/** Ten probability bars and the top guess. */
class Bars {
  constructor(barsEl, guessEl, confEl, thumbEl = null) {
    Object.assign(this, { guessEl, confEl, thumbEl });
    this.rows = [...Array(10).keys()].map((d) => {
      const row = document.createElement('div');
      row.className = 'bar';
      row.innerHTML = `<span>${d}</span><div class="track"><div class="fill"></div></div><span class="pct"></span>`;
      barsEl.appendChild(row);
      return { row, fill: row.querySelector('.fill'), pct: row.querySelector('.pct') };
    });
  }
  show(probs, pixels) {
    const top = probs ? probs.indexOf(Math.max(...probs)) : -1;
    this.rows.forEach((r, d) => {
      const p = probs ? probs[d] : 0;
      r.fill.style.width = `${(p * 100).toFixed(1)}%`;
      r.pct.textContent = probs ? `${(p * 100).toFixed(1)}%` : '';
      r.row.classList.toggle('top', d === top);
    });
    this.guessEl.textContent = probs ? String(top) : '–';
    this.confEl.textContent = probs ? `${(probs[top] * 100).toFixed(1)}% sure` : 'draw a digit';
    if (this.thumbEl && pixels) {
      const img = new ImageData(28, 28);
      pixels.forEach((v, i) => img.data.set([v * 255, v * 255, v * 255, 255], i * 4));
      this.thumbEl.getContext('2d').putImageData(img, 0, 0);
    }
  }
}

/** Draws a `{width, height, rgba}` picture from Tessera on a canvas (blank when `null`). */
function showPicture(canvas, pic) {
  if (!pic) {
    canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  canvas.width = pic.width;
  canvas.height = pic.height;
  canvas.getContext('2d').putImageData(new ImageData(pic.rgba, pic.width, pic.height), 0, 0);
}

/** Inside a model, for panel `k`: its first two conv layers' feature maps of `pixels`, and
 *  its first-layer filters (redrawn only when the model changes). */
function insideView(k) {
  let shownFilters = null;
  return async (model, pixels) => {
    if (model && model !== shownFilters) {
      showPicture($(`filters${k}`), (await model.filters())[0]);
      shownFilters = model;
    }
    const maps = model && pixels ? await model.featureMaps(pixels) : [null, null];
    maps.forEach((pic, i) => showPicture($(`fmap${k}-${i}`), pic));
  };
}

/** Live classification of a pad: one request in flight; redraws during it trigger one more. */
function liveView(pad, bars, model, inside) {
  let running = null;
  let again = false;
  let last = null;
  const loop = async () => {
    await null; // `running` is set before the first pass
    do {
      again = false;
      const m = model();
      if (pad.empty || !m) {
        last = null;
        bars.show(null);
        await inside(m, null);
        continue;
      }
      const px = pad.pixels();
      last = Array.from(await m.classify(px));
      bars.show(last, px);
      await inside(m, px);
    } while (again);
    running = null;
    return last;
  };
  return () => {
    if (running) { again = true; return running; }
    running = loop();
    running.catch((e) => { running = null; setStatus(`Error: ${e.message || e}`, 'error'); });
    return running;
  };
}

/** The loss curve (raw and smoothed) with accuracy marks. */
function drawCurve(canvas, losses, accs) {
  const c = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  const pad = { l: 34, r: 8, t: 10, b: 20 };
  c.clearRect(0, 0, w, h);
  const ymax = Math.max(2.5, ...losses.slice(0, 3));
  const n = Math.max(losses.length, 10);
  const X = (i) => pad.l + (w - pad.l - pad.r) * i / (n - 1);
  const Y = (v) => pad.t + (h - pad.t - pad.b) * (1 - Math.min(v, ymax) / ymax);
  c.font = '11px system-ui';
  c.fillStyle = '#6a7388';
  c.strokeStyle = '#e6e9f0';
  for (let v = 0; v <= ymax; v += 0.5) {
    c.beginPath(); c.moveTo(pad.l, Y(v)); c.lineTo(w - pad.r, Y(v)); c.stroke();
    c.fillText(v.toFixed(1), 4, Y(v) + 4);
  }
  c.fillText(`step ${losses.length}`, w - 70, h - 5);
  c.fillText('loss', pad.l + 4, h - 5);
  const path = (vals, style, width) => {
    c.strokeStyle = style; c.lineWidth = width; c.beginPath();
    vals.forEach((v, i) => (i ? c.lineTo(X(i), Y(v)) : c.moveTo(X(i), Y(v))));
    c.stroke(); c.lineWidth = 1;
  };
  path(losses, '#b9c7e8', 1);
  let ema = losses[0];
  path(losses.map((v) => (ema = 0.9 * ema + 0.1 * v)), '#2f6fdb', 2);
  c.fillStyle = '#188038';
  for (const { step, acc } of accs) {
    c.beginPath(); c.arc(X(step - 1), Y(ymax * (1 - acc)), 3, 0, 7); c.fill();
    c.fillText(`${(acc * 100).toFixed(1)}%`, Math.min(X(step - 1) - 14, w - 40), Y(ymax * (1 - acc)) - 6);
  }
}

async function main() {
  const timings = { start: performance.now() };
  window.demo = { timings };
  await init();
  const engine = await Engine.open(!params.has('cpu'));
  const backend = engine.backend;
  $('backend').textContent = backend;
  if (engine.isGpu) {
    const info = (await navigator.gpu.requestAdapter())?.info;
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
    setStatus(`Running on WebGPU${name ? ` (${name})` : ''}, through Tessera compiled to WebAssembly.`);
  } else {
    setStatus(`WebGPU is not available here (${engine.gpuError}). Tessera runs on its CPU backend instead: drawing and classifying work, training is slower.`, 'warn');
  }
  const classifier = new Classifier(engine, 0);
  classifier.loadWeights(new Uint8Array(await fetchBytes('lenet5.safetensors')));
  timings.weightsLoaded = performance.now();
  await classifier.classify(new Float32Array(784)); // warm-up: compiles the pipelines
  timings.firstPrediction = performance.now();

  let trainer = null;
  const bars1 = new Bars($('bars1'), $('guess1'), $('conf1'), $('thumb1'));
  const bars2 = new Bars($('bars2'), $('guess2'), $('conf2'));
  let update1 = () => null;
  let update2 = () => null;
  const pad1 = new Pad($('pad1'), () => update1());
  const pad2 = new Pad($('pad2'), () => update2());
  update1 = liveView(pad1, bars1, () => classifier, insideView(1));
  update2 = liveView(pad2, bars2, () => trainer, insideView(2));
  $('clear1').onclick = () => pad1.clear();
  $('clear2').onclick = () => pad2.clear();
  update1();
  update2();

  const data = {};
  const loadData = async () => {
    data.train ??= parseSubset(await fetchBytes('mnist-train.bin'));
    data.test ??= parseSubset(await fetchBytes('mnist-test.bin'));
    $('ntrain').textContent = `${data.train.n.toLocaleString()}`;
    return data;
  };
  const dataReady = loadData().catch((e) => setStatus(`Error: ${e.message}`, 'error'));

  let stop = false;
  const train = async () => {
    const { train: tr, test } = await loadData();
    const steps = Math.max(1, +$('steps').value | 0);
    const batch = Math.max(1, +$('batch').value | 0);
    $('train').disabled = true;
    $('stop').disabled = false;
    stop = false;
    trainer = null;
    const t = new Trainer(engine, tr.images, tr.labels, batch, LEARNING_RATE, (Math.random() * 2 ** 31) | 0);
    const losses = [];
    const accs = [];
    const began = performance.now();
    const status = (extra = '') => {
      const ms = (performance.now() - began) / Math.max(1, losses.length);
      const last = losses.length ? losses[losses.length - 1].toFixed(3) : '–';
      $('trainstatus').textContent = `step ${losses.length}/${steps} · loss ${last} · ${ms.toFixed(0)} ms/step${extra}`;
    };
    const evaluate = async () => {
      const acc = await t.evaluate(test.images, test.labels);
      accs.push({ step: losses.length, acc });
      return acc;
    };
    for (let i = 0; i < steps && !stop; i++) {
      losses.push(await t.trainSteps(1));
      drawCurve($('curve'), losses, accs);
      status();
      if ((i + 1) % 100 === 0 && i + 1 < steps) await evaluate();
    }
    status(' · evaluating…');
    const acc = await evaluate();
    drawCurve($('curve'), losses, accs);
    status(` · test accuracy ${(acc * 100).toFixed(1)}% on ${test.n} images — now draw on the pad below`);
    trainer = t;
    update2();
    $('train').disabled = false;
    $('stop').disabled = true;
    return { losses, accuracy: acc };
  };
  $('train').onclick = () => train().catch((e) => setStatus(`Error: ${e.message || e}`, 'error'));
  $('stop').onclick = () => { stop = true; };

  Object.assign(window.demo, {
    engine, classifier, pads: [pad1, pad2], update: [update1, update2], loadData, dataReady, train,
    Engine, Classifier, Trainer, mnistFromRgba,
    trainer: () => trainer,
  });
}

window.demoReady = main().then(() => window.demo).catch((e) => {
  setStatus(`Could not start: ${e.message || e}`, 'error');
  throw e;
});
