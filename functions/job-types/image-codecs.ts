/**
 * Real image transformations in pure JS/Wasm (no native binaries, so the same bundle runs on
 * Lambda arm64 and on any dev machine): jimp decodes/resizes and writes JPEG/PNG; the Squoosh
 * WebP codec (Wasm) reads and writes WebP. The .wasm files ship next to the bundle (see the
 * media worker's bundling hook); from source they are found in node_modules.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface ImageTransform {
  readonly width?: number;
  readonly height?: number;
  readonly fit: 'contain' | 'cover' | 'fill' | 'inside';
  readonly format: ImageFormat;
  readonly quality: number;
}

export interface TransformedImage {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  readonly sourceFormat: string;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

export const contentTypes: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

// The Node typings declare WebAssembly's types but not the global value.
const wasmRuntime = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<never> } })
  .WebAssembly;

async function wasm(file: string, packagePath: string): Promise<never> {
  let bytes: Buffer;
  try {
    bytes = await readFile(fileURLToPath(new URL(`./${file}`, import.meta.url)));
  } catch {
    bytes = await readFile(createRequire(import.meta.url).resolve(packagePath));
  }
  return wasmRuntime.compile(bytes);
}

let webp:
  | Promise<{
      encode: typeof import('@jsquash/webp/encode.js').default;
      decode: typeof import('@jsquash/webp/decode.js').default;
    }>
  | undefined;

function webpCodec() {
  webp ??= (async () => {
    const [enc, dec] = await Promise.all([
      import('@jsquash/webp/encode.js'),
      import('@jsquash/webp/decode.js'),
    ]);
    await Promise.all([
      enc.init(await wasm('webp_enc_simd.wasm', '@jsquash/webp/codec/enc/webp_enc_simd.wasm')),
      dec.init(await wasm('webp_dec.wasm', '@jsquash/webp/codec/dec/webp_dec.wasm')),
    ]);
    return { encode: enc.default, decode: dec.default };
  })();
  return webp;
}

const isWebp = (bytes: Uint8Array) =>
  Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' &&
  Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP';

export class UnsupportedImage extends Error {
  override readonly name = 'UnsupportedImage';
}

export async function transformImage(
  input: Uint8Array,
  transform: ImageTransform,
): Promise<TransformedImage> {
  const { Jimp, ResizeStrategy } = await import('jimp');
  let image: InstanceType<typeof Jimp>;
  let sourceFormat: string;
  if (isWebp(input)) {
    const decoded = await (await webpCodec()).decode(
      input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer,
    );
    image = Jimp.fromBitmap({
      data: Buffer.from(decoded.data.buffer),
      width: decoded.width,
      height: decoded.height,
    });
    sourceFormat = 'webp';
  } else {
    try {
      image = (await Jimp.read(Buffer.from(input))) as InstanceType<typeof Jimp>;
    } catch (error) {
      throw new UnsupportedImage(
        `Not a readable image (jpeg, png, webp, gif, bmp, tiff): ${(error as Error).message}`,
      );
    }
    sourceFormat = image.mime?.replace('image/', '') ?? 'unknown';
  }
  const sourceWidth = image.width;
  const sourceHeight = image.height;
  const { width, height } = transform;
  if (width || height) {
    const w = width ?? Math.round((sourceWidth * (height as number)) / sourceHeight);
    const h = height ?? Math.round((sourceHeight * (width as number)) / sourceWidth);
    if (transform.fit === 'cover') image.cover({ w, h });
    else if (transform.fit === 'contain') image.contain({ w, h });
    else if (transform.fit === 'inside') image.scaleToFit({ w, h });
    else image.resize({ w, h, mode: ResizeStrategy.BILINEAR });
  }
  let body: Uint8Array;
  if (transform.format === 'webp') {
    const encoded = await (await webpCodec()).encode(
      {
        data: new Uint8ClampedArray(image.bitmap.data),
        width: image.width,
        height: image.height,
        colorSpace: 'srgb',
      },
      { quality: transform.quality },
    );
    body = new Uint8Array(encoded);
  } else if (transform.format === 'jpeg') {
    body = await image.getBuffer('image/jpeg', { quality: transform.quality });
  } else {
    body = await image.getBuffer('image/png');
  }
  return {
    body,
    contentType: contentTypes[transform.format],
    width: image.width,
    height: image.height,
    sourceFormat,
    sourceWidth,
    sourceHeight,
  };
}
