/** Offscreen textures with their framebuffers; resized in place, never reallocated per frame. */

/** Texture formats by name: [internalFormat, format, type], all filterable in WebGL2. */
export const FORMATS = Object.freeze({
  rgba8: ['RGBA8', 'RGBA', 'UNSIGNED_BYTE'],
  r8: ['R8', 'RED', 'UNSIGNED_BYTE'],
  rg8: ['RG8', 'RG', 'UNSIGNED_BYTE'],
  r16f: ['R16F', 'RED', 'HALF_FLOAT'],
  rgba16f: ['RGBA16F', 'RGBA', 'HALF_FLOAT'],
  rgba32f: ['RGBA32F', 'RGBA', 'FLOAT'], // not filterable: read with texelFetch/readPixels only
});

/** Create a texture with edge clamping and the given filter. */
export function createTexture(gl, filter = gl.LINEAR) {
  const texture = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return texture;
}

/**
 * A texture plus a framebuffer that renders into it.
 * @param {WebGL2RenderingContext} gl
 * @param {keyof FORMATS} format
 */
export function createRenderTarget(gl, width, height, format = 'rgba8', filter = gl.LINEAR) {
  const [internalName, formatName, typeName] = FORMATS[format];
  const texture = createTexture(gl, format === 'rgba32f' ? gl.NEAREST : filter);
  const framebuffer = gl.createFramebuffer();
  const target = {
    texture,
    framebuffer,
    width: 0,
    height: 0,
    /** Reallocate storage when the size changes (camera switch, quality tier); no-op otherwise. */
    resize(newWidth, newHeight) {
      if (newWidth === target.width && newHeight === target.height) return;
      target.width = newWidth;
      target.height = newHeight;
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl[internalName], newWidth, newHeight, 0, gl[formatName], gl[typeName], null);
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
      const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      if (status !== gl.FRAMEBUFFER_COMPLETE) {
        throw new Error(`This GPU cannot render into ${internalName} textures (framebuffer status 0x${status.toString(16)}).`);
      }
    },
    /** Bind for drawing, with the viewport covering the whole target. */
    bind() {
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.viewport(0, 0, target.width, target.height);
    },
    cleanUp() {
      gl.deleteFramebuffer(framebuffer);
      gl.deleteTexture(texture);
    },
  };
  target.resize(width, height);
  return target;
}

/** Bind `texture` to unit `unit` and point `location` at it. */
export function bindTexture(gl, location, texture, unit) {
  gl.activeTexture(gl.TEXTURE0 + unit);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.uniform1i(location, unit);
}
