/** Built-in backgrounds: our own procedural art, painted on a canvas at any size (nothing downloaded).
 *
 * Each painter draws in a fixed 16:9 design space (DESIGN_WIDTH x DESIGN_HEIGHT units) that is
 * cover-fitted to the requested size, so a thumbnail and a 1280x720 frame show the same picture.
 * Randomness comes from a seeded generator, so every render of a background is identical. */

import { findAdminBackground, isAdminImageId, renderAdminBackground } from './admin.js';

const DESIGN_WIDTH = 1600; // design units; 16:9 like the default camera mode
const DESIGN_HEIGHT = 900; // design units
// Shapes that touch the picture's edge extend this far past it, and blurred layers keep this margin,
// so a blur near the edge averages real content instead of fading to transparent.
const BLEED = 100; // design units
const NOISE_TILE = 128; // px, size of the dither tile that hides gradient banding
const NOISE_ALPHA = 0.025; // opacity of the dither; enough to break 8-bit bands, too little to see

/** How the settings name a built-in: 'builtin:aurora'. */
export const BUILTIN_IMAGE_PREFIX = 'builtin:';

/** The built-in choices, in gallery order: `{id, label}`. */
export const builtinBackgrounds = Object.freeze([
  Object.freeze({ id: 'office', label: 'Soft office' }),
  Object.freeze({ id: 'aurora', label: 'Aurora' }),
  Object.freeze({ id: 'studio', label: 'Studio grey' }),
  Object.freeze({ id: 'bookshelf', label: 'Bookshelf' }),
  Object.freeze({ id: 'sunset', label: 'Sunset' }),
]);

// mulberry32: a tiny seeded generator (https://gist.github.com/tommyettinger/46a874533244883189143505d203312c).
function seededRandom(seed) {
  let state = seed >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function createCanvas(width, height) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/** A painting surface: the context in design units, the seeded generator and a unit->px scale.
 * `margin` px of extra canvas on every side hold the bleed of a layer that will be blurred. */
function createSurface(width, height, seed, margin = 0) {
  const canvas = createCanvas(width + 2 * margin, height + 2 * margin);
  const ctx = canvas.getContext('2d');
  const scale = Math.max(width / DESIGN_WIDTH, height / DESIGN_HEIGHT);
  const offsetX = (width - DESIGN_WIDTH * scale) / 2 + margin;
  const offsetY = (height - DESIGN_HEIGHT * scale) / 2 + margin;
  ctx.setTransform(scale, 0, 0, scale, offsetX, offsetY);
  return { canvas, ctx, scale, width, height, rand: seededRandom(seed) };
}

// ctx.filter radii are in canvas pixels, not design units.
function blurFilter(surface, units) {
  return `blur(${Math.max(0, units * surface.scale).toFixed(2)}px)`;
}

/** Paint `draw(layerSurface)` on a separate layer and composite it blurred (one blur for many shapes). */
function paintBlurredLayer(surface, blurUnits, draw, seed) {
  const margin = Math.ceil(BLEED * surface.scale);
  const layer = createSurface(surface.width, surface.height, seed, margin);
  draw(layer);
  const { ctx } = surface;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.filter = blurFilter(surface, blurUnits);
  ctx.drawImage(layer.canvas, -margin, -margin);
  ctx.restore();
}

const FULL_BLEED = Object.freeze([-BLEED, -BLEED, DESIGN_WIDTH + 2 * BLEED, DESIGN_HEIGHT + 2 * BLEED]);

function fillLinear(ctx, x0, y0, x1, y1, stops, rect = FULL_BLEED) {
  const gradient = ctx.createLinearGradient(x0, y0, x1, y1);
  for (const [offset, colour] of stops) gradient.addColorStop(offset, colour);
  ctx.fillStyle = gradient;
  ctx.fillRect(...rect);
}

// `rgb` is "r,g,b": the gradient fades to the same colour at alpha 0 (fading to transparent black
// would darken the rim), and the fill is a disc, not the gradient's bounding square.
function glow(ctx, x, y, radius, rgb, alpha = 1) {
  const gradient = ctx.createRadialGradient(x, y, 0, x, y, radius);
  gradient.addColorStop(0, `rgba(${rgb},${alpha})`);
  gradient.addColorStop(0.45, `rgba(${rgb},${alpha * 0.45})`);
  gradient.addColorStop(1, `rgba(${rgb},0)`);
  ctx.fillStyle = gradient;
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, Math.PI * 2);
  ctx.fill();
}

function vignette(ctx, strength) {
  const gradient = ctx.createRadialGradient(DESIGN_WIDTH / 2, DESIGN_HEIGHT / 2, DESIGN_HEIGHT * 0.35,
    DESIGN_WIDTH / 2, DESIGN_HEIGHT / 2, DESIGN_WIDTH * 0.62);
  gradient.addColorStop(0, 'rgba(0,0,0,0)');
  gradient.addColorStop(1, `rgba(0,0,0,${strength})`);
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, DESIGN_WIDTH, DESIGN_HEIGHT);
}

/** Fine grain over the whole picture: smooth gradients band visibly in 8-bit video without it. */
function dither(surface) {
  const tile = createCanvas(NOISE_TILE, NOISE_TILE);
  const tileCtx = tile.getContext('2d');
  const image = tileCtx.createImageData(NOISE_TILE, NOISE_TILE);
  const rand = seededRandom(7);
  // One-off generation of a 128x128 tile at render time, not per frame.
  for (let i = 0; i < image.data.length; i += 4) {
    const value = rand() < 0.5 ? 0 : 255;
    image.data[i] = value;
    image.data[i + 1] = value;
    image.data[i + 2] = value;
    image.data[i + 3] = 255;
  }
  tileCtx.putImageData(image, 0, 0);
  const { ctx } = surface;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = NOISE_ALPHA;
  ctx.globalCompositeOperation = 'overlay';
  ctx.fillStyle = ctx.createPattern(tile, 'repeat');
  ctx.fillRect(0, 0, surface.width, surface.height);
  ctx.restore();
}

function roundedRect(ctx, x, y, width, height, radius) {
  ctx.beginPath();
  ctx.roundRect(x, y, width, height, radius);
  ctx.fill();
}

function leaf(ctx, x, y, length, width, angle, colour) {
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(angle);
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.ellipse(length / 2, 0, length / 2, width / 2, 0, 0, Math.PI * 2);
  ctx.fill();
  ctx.restore();
}

function paintOffice(surface) {
  const { ctx } = surface;
  fillLinear(ctx, 0, 0, 0, DESIGN_HEIGHT, [[0, '#f1e7da'], [0.7, '#e2d2bd'], [1, '#cdb89d']]);
  paintBlurredLayer(surface, 16, (layer) => {
    const c = layer.ctx;
    const rand = layer.rand;
    // Warm wall, a little darker to the right, away from the window.
    fillLinear(c, 0, 0, DESIGN_WIDTH, 0, [[0, '#f3ebe0'], [0.55, '#e6d6c2'], [1, '#d3bfa4']]);
    // Window on the left: daylight, a hint of trees outside, the frame in off-white.
    fillLinear(c, 0, 80, 0, 640, [[0, '#e4eef4'], [0.6, '#f7f6ef'], [1, '#eef0e2']], [140, 80, 470, 560]);
    // Treetops outside: a soft, wavy band of greens along the bottom of the window.
    c.fillStyle = '#a7bd8f';
    c.beginPath();
    c.moveTo(140, 640);
    for (let x = 140; x <= 610; x += 10) c.lineTo(x, 520 - 40 * Math.sin(x * 0.021) - 25 * Math.sin(x * 0.057 + 1));
    c.lineTo(610, 640);
    c.closePath();
    c.fill();
    c.fillStyle = '#fbf8f2';
    c.fillRect(120, 60, 510, 24);
    c.fillRect(120, 632, 510, 28);
    c.fillRect(120, 60, 24, 600);
    c.fillRect(606, 60, 24, 600);
    c.fillRect(362, 60, 18, 600);
    c.fillRect(120, 330, 510, 16);
    // Shelf with books and a vase on the right wall.
    c.fillStyle = '#a9835f';
    c.fillRect(960, 236, 470, 18);
    const bookColours = ['#5b7b8c', '#c9a66b', '#8a5a44', '#e7dcc8', '#6d7f5a', '#b7644c'];
    let x = 990;
    while (x < 1250) {
      const width = 18 + rand() * 16;
      const height = 95 + rand() * 45;
      c.fillStyle = bookColours[Math.floor(rand() * bookColours.length)];
      c.fillRect(x, 236 - height, width, height);
      x += width + 3;
    }
    c.fillStyle = '#3f6b73';
    roundedRect(c, 1320, 148, 70, 88, 26);
    // A framed print between the window and the shelf.
    c.fillStyle = '#f7f2ea';
    c.fillRect(735, 170, 190, 240);
    fillLinear(c, 750, 185, 910, 395, [[0, '#d98f6b'], [0.5, '#e8c39e'], [1, '#7ea39b']], [755, 190, 150, 200]);
    // A plant in a terracotta pot, bottom right: stems fanning out, a broad leaf on each.
    const leafColours = ['#5f8450', '#6f955c', '#4d7244', '#86a86a'];
    c.strokeStyle = '#4f6e40';
    c.lineWidth = 7;
    for (let i = 0; i < 11; i += 1) {
      const angle = -Math.PI / 2 + (i / 10 - 0.5) * 2.2 + (rand() - 0.5) * 0.2;
      const length = 170 + rand() * 140;
      const tipX = 1330 + Math.cos(angle) * length;
      const tipY = 600 + Math.sin(angle) * length;
      c.beginPath();
      c.moveTo(1330, 600);
      c.quadraticCurveTo(1330 + Math.cos(angle) * length * 0.3, 600 + Math.sin(angle) * length * 0.7, tipX, tipY);
      c.stroke();
      leaf(c, tipX, tipY, 110 + rand() * 50, 62 + rand() * 22, angle + (rand() - 0.5) * 0.5,
        leafColours[i % leafColours.length]);
    }
    c.fillStyle = '#c27a52';
    roundedRect(c, 1255, 590, 150, 150, 18);
    c.fillStyle = '#a9633f';
    c.fillRect(1255, 590, 150, 22);
    // Desk along the bottom.
    fillLinear(c, 0, 740, 0, DESIGN_HEIGHT, [[0, '#b48e6a'], [0.08, '#9c7554'], [1, '#7d5a3f']], [-BLEED, 740, DESIGN_WIDTH + 2 * BLEED, 160 + BLEED]);
    // Daylight spill from the window and a warm lamp glow.
    c.globalCompositeOperation = 'screen';
    glow(c, 380, 360, 620, '255,248,234', 0.55);
    glow(c, 1240, 170, 380, '255,217,163', 0.5);
    c.globalCompositeOperation = 'source-over';
  }, 11);
  vignette(ctx, 0.22);
}

function paintAurora(surface) {
  const { ctx, rand } = surface;
  fillLinear(ctx, 0, 0, 0, DESIGN_HEIGHT, [[0, '#030716'], [0.45, '#081a35'], [0.8, '#0f3148'], [1, '#123b4d']]);
  for (let i = 0; i < 320; i += 1) {
    const size = rand() < 0.92 ? 1 + rand() * 1.2 : 2 + rand() * 1.4;
    ctx.globalAlpha = 0.25 + rand() * 0.7;
    ctx.fillStyle = rand() < 0.85 ? '#ffffff' : '#cfe3ff';
    ctx.beginPath();
    ctx.arc(rand() * DESIGN_WIDTH, rand() * 620, size, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  const curtains = [
    { base: 420, amplitude: 70, frequency: 0.0042, phase: 0.3, height: 300, colour: '62,240,170', alpha: 0.75 },
    { base: 330, amplitude: 90, frequency: 0.0031, phase: 2.1, height: 260, colour: '52,212,224', alpha: 0.5 },
    { base: 250, amplitude: 60, frequency: 0.0055, phase: 4.0, height: 220, colour: '150,110,255', alpha: 0.45 },
  ];
  paintBlurredLayer(surface, 18, (layer) => {
    const c = layer.ctx;
    c.globalCompositeOperation = 'lighter';
    for (const curtain of curtains) {
      const step = 6; // design units between rays
      for (let x = -60; x < DESIGN_WIDTH + 60; x += step) {
        const y = curtain.base + curtain.amplitude * Math.sin(x * curtain.frequency + curtain.phase)
          + 0.35 * curtain.amplitude * Math.sin(x * curtain.frequency * 2.7 + curtain.phase * 1.7);
        const top = y - curtain.height * (0.6 + 0.4 * Math.sin(x * 0.011 + curtain.phase) ** 2);
        const gradient = c.createLinearGradient(0, top, 0, y + 30);
        gradient.addColorStop(0, `rgba(${curtain.colour},0)`);
        gradient.addColorStop(0.75, `rgba(${curtain.colour},${curtain.alpha * 0.35})`);
        gradient.addColorStop(0.95, `rgba(${curtain.colour},${curtain.alpha})`);
        gradient.addColorStop(1, `rgba(${curtain.colour},0)`);
        c.fillStyle = gradient;
        c.globalAlpha = 0.5 + 0.5 * layer.rand();
        c.fillRect(x, top, step + 2, y + 30 - top);
      }
    }
  }, 23);
  // Mountains: a far blue-grey ridge and a near black one.
  const ridge = (baseY, roughness, colour, seedOffset) => {
    const r = seededRandom(seedOffset);
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(0, DESIGN_HEIGHT);
    let y = baseY;
    for (let x = 0; x <= DESIGN_WIDTH; x += 40) {
      y = Math.min(DESIGN_HEIGHT - 40, Math.max(baseY - 140, y + (r() - 0.5) * roughness));
      ctx.lineTo(x, y);
    }
    ctx.lineTo(DESIGN_WIDTH, DESIGN_HEIGHT);
    ctx.closePath();
    ctx.fill();
  };
  ridge(700, 70, '#0b2233', 5);
  ridge(790, 50, '#040b14', 9);
  glow(ctx, 800, 700, 700, '42,208,160', 0.08);
}

function paintStudio(surface) {
  const { ctx } = surface;
  const backdrop = ctx.createRadialGradient(760, 360, 40, 800, 420, 1050);
  backdrop.addColorStop(0, '#a3a7ac');
  backdrop.addColorStop(0.45, '#7b8086');
  backdrop.addColorStop(1, '#35383c');
  ctx.fillStyle = backdrop;
  ctx.fillRect(0, 0, DESIGN_WIDTH, DESIGN_HEIGHT);
  // The paper sweep: the floor curve catches a little more light, then falls off.
  fillLinear(ctx, 0, 560, 0, DESIGN_HEIGHT,
    [[0, 'rgba(255,255,255,0)'], [0.45, 'rgba(255,255,255,0.07)'], [1, 'rgba(0,0,0,0.25)']],
    [0, 560, DESIGN_WIDTH, 340]);
  glow(ctx, 520, 220, 700, '255,255,255', 0.16);
  vignette(ctx, 0.3);
}

function paintBookshelf(surface) {
  const { ctx } = surface;
  ctx.fillStyle = '#2e2019';
  ctx.fillRect(0, 0, DESIGN_WIDTH, DESIGN_HEIGHT);
  paintBlurredLayer(surface, 9, (layer) => {
    const c = layer.ctx;
    const rand = layer.rand;
    fillLinear(c, 0, 0, DESIGN_WIDTH, 0, [[0, '#2a1c15'], [0.5, '#3a281e'], [1, '#2a1c15']]);
    const palette = ['#7c2d2d', '#2f4b6e', '#35563f', '#b08a3e', '#6e3b5c', '#d8cbb0', '#45464d',
      '#8c5a3c', '#1f3a44', '#a44a3f', '#c7b28a', '#4f6b52'];
    const rowHeight = 225; // design units between shelves
    const board = 24; // shelf thickness, design units
    for (let row = 0; row < 4; row += 1) {
      const shelfY = 200 + row * rowHeight;
      let x = -BLEED + rand() * 40;
      while (x < DESIGN_WIDTH + BLEED) {
        if (rand() < 0.07) { // a gap or a small ornament now and then
          if (rand() < 0.5) {
            c.fillStyle = rand() < 0.5 ? '#cfc6b8' : '#5d7d70';
            roundedRect(c, x + 10, shelfY - 90, 60, 90, 22);
          }
          x += 90;
          continue;
        }
        const width = 20 + rand() * 30;
        const height = 130 + rand() * 60;
        const colour = palette[Math.floor(rand() * palette.length)];
        c.save();
        if (rand() < 0.06) { // a leaning book
          c.translate(x, shelfY);
          c.rotate(0.18 + rand() * 0.15);
          c.translate(-x, -shelfY);
        }
        c.fillStyle = colour;
        c.fillRect(x, shelfY - height, width, height);
        // Spine bands catch the light.
        c.fillStyle = 'rgba(255,235,200,0.28)';
        c.fillRect(x, shelfY - height + 14, width, 5);
        c.fillRect(x, shelfY - 26, width, 4);
        c.restore();
        x += width + 2 + rand() * 3;
      }
      fillLinear(c, 0, shelfY, 0, shelfY + board, [[0, '#8a6143'], [0.3, '#6e4a32'], [1, '#4a3122']],
        [-BLEED, shelfY, DESIGN_WIDTH + 2 * BLEED, board]);
    }
    c.globalCompositeOperation = 'screen';
    glow(c, 820, 80, 900, '255,207,143', 0.3);
    c.globalCompositeOperation = 'source-over';
  }, 31);
  vignette(ctx, 0.45);
}

function paintSunset(surface) {
  const { ctx } = surface;
  fillLinear(ctx, 0, 0, 0, 640, [[0, '#1c2a63'], [0.35, '#553a88'], [0.62, '#c4577a'], [0.82, '#f2925a'], [1, '#ffcf86']],
    [0, 0, DESIGN_WIDTH, 640]);
  glow(ctx, 1040, 560, 560, '255,176,103', 0.7);
  glow(ctx, 1040, 560, 190, '255,230,176', 0.9);
  ctx.fillStyle = '#fff3d1';
  ctx.beginPath();
  ctx.arc(1040, 560, 70, 0, Math.PI * 2);
  ctx.fill();
  paintBlurredLayer(surface, 10, (layer) => {
    const c = layer.ctx;
    const rand = layer.rand;
    for (let i = 0; i < 9; i += 1) { // long, thin clouds lit from below
      const y = 150 + rand() * 330;
      c.fillStyle = y > 380 ? 'rgba(255,190,150,0.55)' : 'rgba(230,150,190,0.4)';
      c.beginPath();
      c.ellipse(rand() * DESIGN_WIDTH, y, 180 + rand() * 260, 10 + rand() * 14, 0, 0, Math.PI * 2);
      c.fill();
    }
  }, 41);
  const hills = [
    { base: 600, amplitude: 40, frequency: 0.004, phase: 1.0, colour: '#a0577f' },
    { base: 660, amplitude: 55, frequency: 0.0031, phase: 2.6, colour: '#6b3668' },
    { base: 740, amplitude: 60, frequency: 0.0024, phase: 0.2, colour: '#3b2048' },
    { base: 830, amplitude: 45, frequency: 0.0037, phase: 4.2, colour: '#1e1230' },
  ];
  for (const hill of hills) {
    ctx.fillStyle = hill.colour;
    ctx.beginPath();
    ctx.moveTo(0, DESIGN_HEIGHT);
    for (let x = 0; x <= DESIGN_WIDTH; x += 10) {
      ctx.lineTo(x, hill.base - hill.amplitude * Math.sin(x * hill.frequency + hill.phase)
        - 0.3 * hill.amplitude * Math.sin(x * hill.frequency * 3.1 + hill.phase));
    }
    ctx.lineTo(DESIGN_WIDTH, DESIGN_HEIGHT);
    ctx.closePath();
    ctx.fill();
  }
  // Haze between the layers: distance fades toward the sky colour.
  fillLinear(ctx, 0, 480, 0, 780, [[0, 'rgba(255,170,120,0)'], [0.35, 'rgba(255,170,120,0.22)'], [1, 'rgba(255,170,120,0)']], [0, 480, DESIGN_WIDTH, 300]);
}

const PAINTERS = Object.freeze({
  office: { paint: paintOffice, seed: 1 },
  aurora: { paint: paintAurora, seed: 2 },
  studio: { paint: paintStudio, seed: 3 },
  bookshelf: { paint: paintBookshelf, seed: 4 },
  sunset: { paint: paintSunset, seed: 5 },
});

/** Paint built-in background `id` ('aurora' or 'builtin:aurora') at `width` x `height` px, cover-fitted; resolves to an ImageBitmap.
 * An admin's background ('admin:lobby', backgrounds/admin.js) is drawn the same way, so every picture choice takes this one path. */
export async function renderBuiltinBackground(id, width, height) {
  if (isAdminImageId(id)) {
    if (await findAdminBackground(id)) return renderAdminBackground(id, width, height);
    // Removed from the server since it was chosen: the default picture, as for any outdated setting.
    return renderBuiltinBackground(builtinBackgrounds[0].id, width, height);
  }
  const painter = PAINTERS[String(id).startsWith(BUILTIN_IMAGE_PREFIX) ? id.slice(BUILTIN_IMAGE_PREFIX.length) : id];
  if (!painter) throw new RangeError(`unknown built-in background "${id}"`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`background size must be positive integers, got ${width}x${height}`);
  }
  const surface = createSurface(width, height, painter.seed);
  painter.paint(surface);
  dither(surface);
  if (typeof surface.canvas.transferToImageBitmap === 'function') return surface.canvas.transferToImageBitmap();
  return createImageBitmap(surface.canvas);
}
