using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pipeline;

public enum CacheState { NotNeeded, Built, Reused }

/// <summary>
/// Resized images on disk, one file per (dataset, content, resized size, interpolation): the resize runs once, and
/// every epoch after that reads bytes. The file name carries the source's fingerprint, so a changed dataset never
/// reads a stale cache; older caches of the same dataset and size are deleted when a new one is built. A cache
/// appears only complete: it is written to a temp file and renamed into place.
/// </summary>
/// <remarks>Pixels are rounded to bytes after the resize, as torchvision's v2 transforms do on uint8 images; that
/// keeps the cache at a quarter of float32's size.</remarks>
public static class ResizeCache
{
    /// <summary>Returns a source of images resized to (<paramref name="height"/>, <paramref name="width"/>): the
    /// original when no resize is needed, else the cache file (built now when missing or stale).</summary>
    public static (ImageSource Source, CacheState State, string? File) Open(ImageSource original, string name, int height, int width,
        ResizeInterpolation interpolation, string cacheDir, long memoryBudget, int workers, CancellationToken ct)
    {
        if (original.Height == height && original.Width == width) return (original, CacheState.NotNeeded, null);
        Directory.CreateDirectory(cacheDir);
        var stem = $"{name}-{height}x{width}-{interpolation.ToString().ToLowerInvariant()}-";
        var file = Path.Combine(cacheDir, stem + original.Fingerprint + ".u8");
        var state = CacheState.Reused;
        if (!File.Exists(file) || new FileInfo(file).Length != (long)original.Count * original.Channels * height * width)
        {
            Build(original, file, height, width, interpolation, memoryBudget, workers, ct);
            state = CacheState.Built;
            foreach (var old in Directory.EnumerateFiles(cacheDir, stem + "*.u8").Where(f => f != file))
                try { File.Delete(old); } catch (IOException) { } // another run may still read it; it goes next time
        }
        return (new FileImageSource(file, original.Count, original.Channels, height, width), state, file);
    }

    static void Build(ImageSource src, string file, int height, int width, ResizeInterpolation interpolation,
        long memoryBudget, int workers, CancellationToken ct)
    {
        // A chunk holds its bytes in and out, float copies of both, and the antialiased resize's separable pass in
        // between (one axis resized, the other not yet); several chunks run at once. A quarter of the budget goes to
        // live chunks: glibc keeps freed chunk buffers resident for reuse, so a chunk's churn costs about twice its size.
        long between = (long)Math.Max(src.Height, height) * Math.Max(src.Width, width);
        long perImage = src.Channels * (5L * src.Height * src.Width + 4 * between + 5L * height * width);
        int chunk = (int)Math.Clamp(memoryBudget / 4 / Math.Max(1, workers) / perImage, 1, 256);
        int chunks = (src.Count + chunk - 1) / chunk;
        var tmp = file + $".tmp-{Guid.NewGuid():N}";
        try
        {
            using (var handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                       preallocationSize: (long)src.Count * src.Channels * height * width))
            {
                // Own threads rather than Parallel.For's pool threads, for the malloc-arena reason in Prefetcher.
                int next = -1;
                Exception? failure = null;
                var threads = Enumerable.Range(0, Math.Clamp(workers, 1, chunks)).Select(_ => new Thread(() =>
                {
                    try
                    {
                        for (int c; (c = Interlocked.Increment(ref next)) < chunks && Volatile.Read(ref failure) is null;)
                        {
                            ct.ThrowIfCancellationRequested();
                            int start = c * chunk, n = Math.Min(chunk, src.Count - start);
                            // libtorch buffers, not managed arrays: no large-object-heap garbage piling up during the build.
                            using var scope = NewDisposeScope();
                            var input = empty([n, src.Channels, src.Height, src.Width], ScalarType.Byte, device: CPU);
                            src.ReadRange(start, n, ImagePipeline.Bytes(input));
                            var output = Resize(input, height, width, interpolation);
                            RandomAccess.Write(handle, ImagePipeline.Bytes(output), (long)start * src.Channels * height * width);
                        }
                    }
                    catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
                }) { IsBackground = true, Name = "resize-cache" }).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            }
            File.Move(tmp, file, overwrite: true);
            // The build's chunk buffers are freed but stay in the worker threads' malloc arenas; streaming comes next
            // and has the whole budget to itself only if they go back to the system now.
            Native.NativeMemory.Trim();
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Resizes N images of bytes with libtorch's interpolate and rounds back to bytes.</summary>
    public static byte[] Resize(byte[] input, int n, int channels, int h, int w, int height, int width, ResizeInterpolation interpolation)
    {
        using var scope = NewDisposeScope();
        return Resize(tensor(input, [n, channels, h, w], device: CPU), height, width, interpolation).data<byte>().ToArray();
    }

    /// <summary>[N,C,H,W] bytes to [N,C,height,width] bytes (contiguous, on the CPU).</summary>
    static Tensor Resize(Tensor input, int height, int width, ResizeInterpolation interpolation)
    {
        int h = (int)input.shape[2], w = (int)input.shape[3];
        var x = input.to_type(ScalarType.Float32);
        var mode = interpolation switch
        {
            ResizeInterpolation.Nearest => InterpolationMode.Nearest,
            ResizeInterpolation.Bicubic => InterpolationMode.Bicubic,
            _ => InterpolationMode.Bilinear,
        };
        // Antialiased when shrinking, like torchvision's Resize (antialias=True is its default since 0.17); without it
        // a downscale skips pixels and aliases thin strokes.
        var y = nn.functional.interpolate(x, size: [height, width], mode: mode,
            align_corners: interpolation == ResizeInterpolation.Nearest ? null : false,
            antialias: interpolation != ResizeInterpolation.Nearest && (height < h || width < w));
        return y.round_().clamp_(0, 255).to_type(ScalarType.Byte).contiguous();
    }
}
