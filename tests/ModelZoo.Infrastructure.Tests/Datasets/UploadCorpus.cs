using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// Builds upload archives in memory: real PNG/JPEG images drawn with SkiaSharp, zipped with System.IO.Compression,
/// and the broken variants the importer must refuse (bad paths, links, truncated or forged images, bombs).
/// </summary>
public static class UploadCorpus
{
    /// <summary>A w x h image: a seed-dependent colour and square, and the seed written into the first pixels, so
    /// images of different seeds never share their bytes.</summary>
    public static byte[] Image(int seed, int w = 20, int h = 16, SKEncodedImageFormat format = SKEncodedImageFormat.Png, bool grey = false)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var c = new SKCanvas(bmp))
        {
            var rng = new Random(seed);
            byte r = (byte)rng.Next(256), g = (byte)rng.Next(256), b = (byte)rng.Next(256);
            c.Clear(grey ? new SKColor(r, r, r) : new SKColor(r, g, b));
            using var paint = new SKPaint { Color = grey ? new SKColor(g, g, g) : new SKColor(b, r, g) };
            c.DrawRect(rng.Next(w / 2), rng.Next(h / 2), w / 3f, h / 3f, paint);
        }
        for (int k = 0; k < 4; k++)
        {
            byte v = (byte)(seed >> (8 * k));
            bmp.SetPixel(k, 0, grey ? new SKColor(v, v, v) : new SKColor(v, (byte)(255 - v), v));
        }
        using var data = bmp.Encode(format, 90);
        return data.ToArray();
    }

    /// <summary>A PNG of random noise: it barely compresses, so cutting or scrambling it hits the pixel data.</summary>
    public static byte[] Noise(int seed, int w = 64, int h = 64)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = bmp.GetPixelSpan();
        new Random(seed).NextBytes(px);
        for (int i = 3; i < px.Length; i += 4) px[i] = 255;
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A size x size PNG of a grid x grid mosaic of random grey levels: enough structure that its
    /// perceptual hash is its own (flat images with one square, as <see cref="Image"/> draws, share hashes often).</summary>
    public static byte[] Mosaic(int seed, int size = 48, int grid = 6)
    {
        using var bmp = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var c = new SKCanvas(bmp))
        {
            var rng = new Random(seed);
            float cell = size / (float)grid;
            for (int y = 0; y < grid; y++)
                for (int x = 0; x < grid; x++)
                {
                    byte v = (byte)rng.Next(256);
                    using var paint = new SKPaint { Color = new SKColor(v, (byte)rng.Next(256), v) };
                    c.DrawRect(x * cell, y * cell, cell, cell, paint);
                }
        }
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The image scaled to w x h with SkiaSharp and re-encoded: a different file of the same picture.</summary>
    public static byte[] Resized(byte[] image, int w, int h, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var src = SKBitmap.Decode(image);
        using var dst = src.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var data = dst.Encode(format, 95);
        return data.ToArray();
    }

    public sealed class ZipBuilder
    {
        readonly MemoryStream _ms = new();
        readonly ZipArchive _zip;
        public ZipBuilder() => _zip = new ZipArchive(_ms, ZipArchiveMode.Create, leaveOpen: true);

        public ZipBuilder File(string name, byte[] content, int? unixMode = null)
        {
            var e = _zip.CreateEntry(name, CompressionLevel.Fastest);
            if (unixMode is { } mode) e.ExternalAttributes = mode << 16;
            using var s = e.Open();
            s.Write(content);
            return this;
        }

        public ZipBuilder Folder(string name) { _zip.CreateEntry(name.TrimEnd('/') + "/"); return this; }

        /// <summary>A class folder with <paramref name="count"/> distinct images.</summary>
        public ZipBuilder Class(string name, int count, int seed = 0, string ext = "png", bool grey = false, int w = 20, int h = 16)
        {
            for (int i = 0; i < count; i++)
                File($"{name}/{name}-{i}.{ext}", Image(unchecked(name.Aggregate(seed + 17, (a, ch) => a * 31 + ch) * 7919 + i), w, h,
                    ext == "jpg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, grey));
            return this;
        }

        public byte[] Bytes()
        {
            _zip.Dispose();
            return _ms.ToArray();
        }
    }

    public static ZipBuilder Zip() => new();

    /// <summary>A valid PNG whose header claims <paramref name="w"/> x <paramref name="h"/> pixels (CRC fixed up),
    /// the shape of a decompression bomb: tiny file, enormous image.</summary>
    public static byte[] PngClaiming(int w, int h)
    {
        var png = Image(1, 4, 4);
        // Signature (8) then the IHDR chunk: length (4), "IHDR" (4), width, height, ..., CRC over type and data.
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), w);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), h);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    /// <summary>A JPEG with an EXIF APP1 segment holding only the orientation tag (0x0112), as phone cameras write it.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, first IFD at offset 8
            0, 1,                                  // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1,          // tag Orientation, type SHORT, count 1
            (byte)(orientation >> 8), (byte)orientation, 0, 0,
            0, 0, 0, 0,                            // no next IFD
        ];
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int len = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(len >> 8), (byte)len, .. payload];
        return [.. jpeg[..2], .. app1, .. jpeg[2..]];
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
