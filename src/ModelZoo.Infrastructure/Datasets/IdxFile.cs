using System.Buffers.Binary;
using System.IO.Compression;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The idx-ubyte format of MNIST and Fashion-MNIST (gzip-compressed): two zero bytes, the element type (0x08 =
/// unsigned byte), the number of dimensions, each dimension as a big-endian int32, then the data.
/// </summary>
public static class IdxFile
{
    public sealed record Content(int[] Dims, byte[] Data);

    public static Content ReadGz(byte[] gz, string name, int expectedDims, long maxBytes = 256L << 20)
    {
        byte[] raw;
        try
        {
            using var src = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            var buf = new byte[1 << 16];
            int n;
            while ((n = src.Read(buf)) > 0)
            {
                if (ms.Length + n > maxBytes) throw new DatasetFetchException($"{name} decompresses to more than {maxBytes} bytes.");
                ms.Write(buf, 0, n);
            }
            raw = ms.ToArray();
        }
        catch (InvalidDataException e) { throw new DatasetFetchException($"{name} is not valid gzip: {e.Message}", e); }
        return Parse(raw, name, expectedDims);
    }

    public static Content Parse(byte[] raw, string name, int expectedDims)
    {
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0)
            throw new DatasetFetchException($"{name} is not an idx file (bad magic number).");
        if (raw[2] != 0x08) throw new DatasetFetchException($"{name} holds element type 0x{raw[2]:x2}; expected unsigned bytes (0x08).");
        int dims = raw[3];
        if (dims != expectedDims) throw new DatasetFetchException($"{name} has {dims} dimensions; expected {expectedDims}.");
        int header = 4 + 4 * dims;
        if (raw.Length < header) throw new DatasetFetchException($"{name} is truncated in its header.");
        var shape = new int[dims];
        long count = 1;
        for (int i = 0; i < dims; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i));
            if (shape[i] <= 0) throw new DatasetFetchException($"{name}: dimension {i} is {shape[i]}.");
            count *= shape[i];
        }
        if (raw.Length - header != count)
            throw new DatasetFetchException($"{name} holds {raw.Length - header} data bytes; its header promises {count} ({string.Join("x", shape)}).");
        return new Content(shape, raw[header..]);
    }
}
