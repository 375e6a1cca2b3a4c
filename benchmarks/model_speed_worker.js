/** The timing worker of benchmarks/model_speed.py (not part of the product: served only by the benchmark).
 *
 * One message in: {ortBase, bundle, threads, sessionOptions, models: [{name, url, inputs: [{name, shape}]}],
 * runs, warmup, seed}. It imports onnxruntime-web, sets ort.env.wasm.numThreads before the first session
 * (the runtime reads it once), opens one WASM session per model, gives each model a fixed random float32
 * input of its own shapes, then runs the models in turn (A, B, C, A, B, C, ...): WARMUP rounds untimed,
 * RUNS rounds timed, so load from elsewhere on the machine falls on every model alike.
 * One message out: {ok: true, ortVersion, threads, isolated, results: {name: {timesMs, startedMs}}} or
 * {ok: false, error}. */

/** A small seeded generator (mulberry32): the same input every time for a given seed, values in [0, 1). */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feedsFor(ort, inputs, seed) {
  const next = random(seed);
  const feeds = {};
  for (const { name, shape } of inputs) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 1) data[i] = next();
    feeds[name] = new ort.Tensor('float32', data, shape);
  }
  return feeds;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function bench({ ortBase, bundle, threads, sessionOptions, models, runs, warmup, seed }) {
  const ort = await import(`${ortBase}${bundle}`);
  ort.env.wasm.wasmPaths = ortBase;
  ort.env.wasm.numThreads = threads;
  const opened = [];
  for (const [index, model] of models.entries()) {
    const session = await ort.InferenceSession.create(await fetchBytes(model.url), {
      ...sessionOptions, executionProviders: ['wasm'],
    });
    const missing = model.inputs.map((input) => input.name).filter((name) => !session.inputNames.includes(name));
    if (missing.length) throw new Error(`${model.name}: no input ${missing} in [${session.inputNames}]`);
    const feeds = feedsFor(ort, model.inputs, seed + index);
    opened.push({ name: model.name, session, feeds, timesMs: [], startedMs: [] });
  }
  for (let round = 0; round < warmup + runs; round += 1) {
    for (const model of opened) {
      const started = performance.now();
      await model.session.run(model.feeds);
      const ms = performance.now() - started;
      if (round >= warmup) {
        model.timesMs.push(ms);
        model.startedMs.push(started);
      }
    }
  }
  const results = {};
  for (const model of opened) {
    results[model.name] = { timesMs: model.timesMs, startedMs: model.startedMs };
    await model.session.release();
  }
  // numThreads as the runtime left it: it falls back to 1 where threads cannot run.
  return {
    ortVersion: ort.env.versions?.web ?? 'unknown', threads: ort.env.wasm.numThreads,
    isolated: self.crossOriginIsolated === true, results,
  };
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ ok: true, ...(await bench(data)) });
  } catch (error) {
    self.postMessage({ ok: false, error: String(error?.stack ?? error?.message ?? error) });
  }
};
