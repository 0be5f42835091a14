import * as z from 'zod';
import { defineJobType, PermanentJobError } from './job-type.ts';

const source = z.union([
  z.object({ base64: z.base64().min(8) }).strict(),
  z.object({ url: z.url({ protocol: /^https?$/ }) }).strict(),
  z.object({ artifactKey: z.string().min(1).max(500) }).strict(),
]);

/**
 * Seed 002's request, `{image_url, transformations: {resize: {width, height}, format, quality}}`,
 * in this type's terms.
 */
function seedShape(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { image_url, transformations, ...rest } = raw as Record<string, unknown>;
  if (image_url === undefined && transformations === undefined) return raw;
  const t = (transformations ?? {}) as Record<string, unknown>;
  const { resize, format, ...otherTransformations } = t;
  const size = (resize ?? {}) as Record<string, unknown>;
  return {
    ...rest,
    ...(image_url !== undefined ? { image: { url: image_url } } : {}),
    ...(size.width !== undefined ? { width: size.width } : {}),
    ...(size.height !== undefined ? { height: size.height } : {}),
    ...(format !== undefined ? { format: format === 'jpg' ? 'jpeg' : format } : {}),
    ...otherTransformations,
  };
}

/**
 * Resizes and re-encodes an image given inline (base64), by URL or by a stored artifact key
 * (e.g. an earlier job's output). The output is stored (S3 on AWS) and served by
 * GET /jobs/{id}/output.
 */
export const processImage = defineJobType({
  name: 'process_image',
  description: 'Resize (contain/cover/fill/inside) and convert to jpeg, png or webp with a quality.',
  payload: z.preprocess(
    seedShape,
    z
      .object({
        image: source,
        width: z.int().min(1).max(8000).optional(),
        height: z.int().min(1).max(8000).optional(),
        fit: z.enum(['contain', 'cover', 'fill', 'inside']).default('inside'),
        format: z.enum(['jpeg', 'png', 'webp']).default('webp'),
        quality: z.int().min(1).max(100).default(80),
      })
      .strict(),
  ),
  defaults: { maxAttempts: 3, timeoutMs: 120_000 },
  async run(payload, context) {
    context.progress(0, 'loading the image');
    const input = await loadImage(payload.image, context);
    context.progress(25, `decoding ${input.byteLength} B`);
    const { transformImage, UnsupportedImage } = await import('./image-codecs.ts');
    let output: Awaited<ReturnType<typeof transformImage>>;
    try {
      output = await transformImage(input, payload);
    } catch (error) {
      if (error instanceof UnsupportedImage) throw new PermanentJobError(error.message);
      throw error;
    }
    context.progress(75, `storing ${output.width}×${output.height} ${payload.format}`);
    const stored = await context.artifacts.put(
      `images/${context.jobId}.${payload.format === 'jpeg' ? 'jpg' : payload.format}`,
      output.body,
      output.contentType,
    );
    context.progress(100, 'stored');
    await context.log(
      'INFO',
      `${output.sourceFormat} ${output.sourceWidth}×${output.sourceHeight} (${input.byteLength} B) → ${payload.format} ${output.width}×${output.height} (${output.body.byteLength} B)`,
    );
    return {
      artifactKey: stored.key,
      contentType: output.contentType,
      width: output.width,
      height: output.height,
      bytes: output.body.byteLength,
      source: {
        format: output.sourceFormat,
        width: output.sourceWidth,
        height: output.sourceHeight,
        bytes: input.byteLength,
      },
    };
  },
});

async function loadImage(
  image: z.infer<typeof source>,
  context: Parameters<typeof processImage.run>[1],
): Promise<Uint8Array> {
  if ('base64' in image) return Buffer.from(image.base64, 'base64');
  if ('artifactKey' in image) {
    const artifact = await context.artifacts.get(image.artifactKey);
    if (!artifact) throw new PermanentJobError(`No stored artifact ${image.artifactKey}`);
    return artifact.body;
  }
  const response = await context.outbound
    .request(image.url, { signal: AbortSignal.any([context.signal, AbortSignal.timeout(30_000)]) })
    .catch((error: Error) => {
      if (error.name === 'OutboundRefused')
        throw new PermanentJobError(`Fetching ${image.url}: ${error.message}`);
      throw error;
    });
  if (!response.ok) throw new Error(`Fetching ${image.url} answered ${response.status}`);
  return response.body;
}
