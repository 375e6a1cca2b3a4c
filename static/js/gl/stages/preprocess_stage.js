/** Turn the model-size frame into the model's input tensor on the GPU and read it straight into
 * the segmenter's input buffer: resize, normalisation and NCHW layout with no JS pixel loop. */
import preprocessFragment from '../shaders/preprocess.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

const PIXELS_PER_TEXEL = 4; // RGBA32F packs four consecutive pixels of one channel

export function buildPreprocessStage(context, manifest) {
  const { gl } = context;
  const [, channels, height, width] = manifest.input.shape;
  if (channels !== 3 || width % PIXELS_PER_TEXEL !== 0) {
    throw new Error(`Unsupported model input ${manifest.input.shape.join('x')}: need 3 channels and a width divisible by ${PIXELS_PER_TEXEL}.`);
  }
  const bgr = (manifest.input.color ?? 'RGB').toUpperCase() === 'BGR';
  const pass = createPass(context, preprocessFragment, bgr ? { BGR: 1 } : {});
  const target = createRenderTarget(gl, width / PIXELS_PER_TEXEL, channels * height, 'rgba32f');
  const { scale, mean, std } = manifest.input;

  return {
    /** Fill `destination` (Float32Array of 3*H*W) from the model-size frame texture; returns `destination`. */
    render(frameTexture, destination) {
      pass.use();
      bindTexture(gl, pass.uniforms.u_frame, frameTexture, 0);
      gl.uniform1i(pass.uniforms.u_height, height);
      gl.uniform1f(pass.uniforms.u_scale, scale);
      gl.uniform3f(pass.uniforms.u_mean, mean[0], mean[1], mean[2]);
      gl.uniform3f(pass.uniforms.u_invStd, 1 / std[0], 1 / std[1], 1 / std[2]);
      pass.draw(target);
      gl.readPixels(0, 0, target.width, target.height, gl.RGBA, gl.FLOAT, destination);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      return destination;
    },
    cleanUp() {
      pass.cleanUp();
      target.cleanUp();
    },
  };
}
