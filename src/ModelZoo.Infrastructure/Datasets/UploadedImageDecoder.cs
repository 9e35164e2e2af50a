using SkiaSharp;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Decodes one uploaded image with SkiaSharp and renders it at the stored size. The header is read first and an
/// image over the pixel limit is refused before any pixel is decoded, so a small file that claims 100,000 x 100,000
/// pixels costs nothing. EXIF orientation is applied (phone photos), transparency is composited over white, and the
/// image is centre-cropped to a square (or stretched) with mipmapped linear sampling, so large downscales do not alias.
/// </summary>
public static class UploadedImageDecoder
{
    /// <param name="Rgb">S x S RGB planes (C x H x W).</param>
    /// <param name="Width">The original's upright width, before it was rendered at the stored size.</param>
    public sealed record Decoded(byte[] Rgb, bool IsGrey, int Width, int Height, string Format)
    {
        /// <summary>Writes the stored form: the RGB planes (3 channels), or one grey plane by ITU-R 601 luma (an
        /// image that is grey already keeps its values). Uploaded datasets and prediction inputs share it, so an
        /// upload to a run is the pixels the run's dataset would have stored.</summary>
        public void CopyPlanes(int channels, Span<byte> destination)
        {
            if (channels == 3) { Rgb.CopyTo(destination); return; }
            int plane = Rgb.Length / 3;
            for (int p = 0; p < plane; p++)
                destination[p] = IsGrey ? Rgb[p] : (byte)Math.Round(0.299 * Rgb[p] + 0.587 * Rgb[plane + p] + 0.114 * Rgb[2 * plane + p]);
        }
    }

    /// <summary>The image's size from its header alone (no pixel decoded), or null when the bytes are not an image
    /// the codecs read; callers that answer "too large" differently from "not an image" ask this first.</summary>
    public static (int Width, int Height)? HeaderSize(byte[] bytes)
    {
        if (bytes.Length == 0) return null;
        using var codec = SKCodec.Create(new MemoryStream(bytes, writable: false));
        return codec is null ? null : (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>The decoded image as S x S RGB planes (C x H x W), or the reason it cannot be used.</summary>
    public static (Decoded? Image, string? Problem) Decode(byte[] bytes, int size, UploadFit fit, long maxPixels)
    {
        if (bytes.Length == 0) return (null, "is empty (0 bytes)");
        // The codec owns the stream it is given and disposes it with itself.
        using var codec = SKCodec.Create(new MemoryStream(bytes, writable: false), out var created);
        if (codec is null)
            return (null, created == SKCodecResult.IncompleteInput
                ? "is truncated: the image header ends early"
                : "is not an image that can be read (PNG, JPEG, GIF, BMP, WebP, ICO or WBMP expected)");
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (w <= 0 || h <= 0) return (null, $"declares an empty size {w}x{h}");
        if ((long)w * h > maxPixels)
            return (null, $"is {w}x{h} = {(long)w * h / 1e6:0.#} megapixels, over the limit of {maxPixels / 1e6:0.#} (Datasets:Upload:MaxPixels); it was not decoded");

        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result == SKCodecResult.IncompleteInput) return (null, "is truncated: the image data ends early");
        if (result != SKCodecResult.Success) return (null, $"is corrupt: the decoder reported {result}");

        var origin = codec.EncodedOrigin;
        bool swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swaps ? h : w, oh = swaps ? w : h;
        var crop = fit == UploadFit.Stretch ? SKRect.Create(0, 0, ow, oh) : CentreSquare(ow, oh);

        using var target = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        using (var image = SKImage.FromBitmap(decoded))
        {
            canvas.Clear(SKColors.White);
            var m = SKMatrix.CreateScale(size / crop.Width, size / crop.Height)
                .PreConcat(SKMatrix.CreateTranslation(-crop.Left, -crop.Top))
                .PreConcat(OriginMatrix(origin, w, h));
            canvas.SetMatrix(m);
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }

        var rgba = target.GetPixelSpan();
        int plane = size * size;
        var rgb = new byte[3 * plane];
        bool grey = true;
        for (int i = 0; i < plane; i++)
        {
            byte r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
            rgb[i] = r; rgb[plane + i] = g; rgb[2 * plane + i] = b;
            // Colour JPEGs of grey content differ by a level or two after chroma subsampling.
            if (grey && (Math.Abs(r - g) > 2 || Math.Abs(g - b) > 2)) grey = false;
        }
        return (new Decoded(rgb, grey, ow, oh, codec.EncodedFormat.ToString().ToUpperInvariant()), null);
    }

    static SKRect CentreSquare(int w, int h)
    {
        int s = Math.Min(w, h);
        return SKRect.Create((w - s) / 2f, (h - s) / 2f, s, s);
    }

    /// <summary>Maps decoded pixels to upright ones, as Skia's SkEncodedOriginToMatrix does.</summary>
    static SKMatrix OriginMatrix(SKEncodedOrigin origin, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
