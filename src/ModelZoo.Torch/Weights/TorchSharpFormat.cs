// TorchSharp's own state_dict format, what Module.save/Module.load use (read from TorchSharp's Module.cs and
// TensorExtensionMethods.cs; LEB128 = unsigned little-endian base-128, what TorchSharp's Encode/Decode write):
//   LEB128 entry count
//   per entry: key as .NET BinaryWriter writes a string (LEB128 byte length, UTF-8), then the tensor:
//     LEB128 dtype (TorchSharp's ScalarType number), LEB128 rank, LEB128 each dimension,
//     numel x itemsize raw bytes (contiguous, little-endian)
// There is no magic number and no trailing marker, so every length is checked against what is left of the file.
using System.Text;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

public static class TorchSharpFormat
{
    const int MaxRank = 64;
    const int MaxKeyBytes = 1 << 16;

    /// <summary>
    /// Reads a file written by TorchSharp's <c>Module.save</c> (or <see cref="Save"/>): floating tensors come back as
    /// Float32 and integer ones as Int64, on the CPU. Throws <see cref="WeightsFormatException"/> on corrupt files.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, canonical: true);

    internal static Dictionary<string, Tensor> Load(string path, bool canonical)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            long count = Leb128(fs, path, "entry count");
            if (count > fs.Length) throw Bad(path, $"claims {count} entries in a {fs.Length}-byte file");
            for (long i = 0; i < count; i++)
            {
                var key = Key(fs, path, i);
                if (result.ContainsKey(key)) throw Bad(path, $"names '{key}' twice");
                result.Add(key, ReadTensor(fs, path, key, canonical));
            }
            if (fs.Position != fs.Length) throw Bad(path, $"has {fs.Length - fs.Position} bytes after the last of its {count} entries");
            return result;
        }
        catch (Exception e)
        {
            TensorDtypes.DisposeAll(result.Values);
            if (e is WeightsFormatException) throw;
            throw new WeightsFormatException(path, $"could not be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> in dictionary order, each in its own dtype, so that TorchSharp's
    /// <c>Module.load</c> accepts the file for a module with those keys and dtypes.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, $"tensors[{name}]");
            _ = TensorDtypes.ItemSize(t.dtype); // throws for dtypes the format cannot hold here (complex, quantised)
        }
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                WriteLeb128(fs, tensors.Count);
                using var noGrad = no_grad();
                foreach (var (name, t) in tensors)
                {
                    var key = Encoding.UTF8.GetBytes(name);
                    WriteLeb128(fs, key.Length);
                    fs.Write(key);
                    WriteLeb128(fs, (long)t.dtype);
                    WriteLeb128(fs, t.shape.Length);
                    foreach (var d in t.shape) WriteLeb128(fs, d);
                    if (t.numel() == 0) continue;
                    using var scope = NewDisposeScope();
                    var c = t.detach().cpu().contiguous();
                    if (c.numel() * c.ElementSize > int.MaxValue)
                        throw new NotSupportedException($"Tensor '{name}' is larger than 2 GiB, which this writer does not support.");
                    fs.Write(c.bytes);
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    static Tensor ReadTensor(FileStream fs, string path, string key, bool canonical)
    {
        long code = Leb128(fs, path, $"dtype of '{key}'");
        var dtype = (ScalarType)code;
        if (code > sbyte.MaxValue || !Enum.IsDefined(dtype) || !IsSupported(dtype))
            throw Bad(path, $"tensor '{key}' has dtype code {code}, which is not supported");
        long rank = Leb128(fs, path, $"rank of '{key}'");
        if (rank > MaxRank) throw Bad(path, $"tensor '{key}' claims rank {rank}");
        var shape = new long[rank];
        for (int d = 0; d < rank; d++) shape[d] = Leb128(fs, path, $"shape of '{key}'");
        long itemSize = TensorDtypes.ItemSize(dtype);
        var numel = TensorDtypes.NumelOf(shape);
        if (numel is null || numel.Value > int.MaxValue / itemSize)
            throw Bad(path, $"tensor '{key}' shape {TensorDtypes.Format(shape)} is too large");
        long bytes = numel.Value * itemSize;
        if (bytes > fs.Length - fs.Position)
            throw Bad(path, $"tensor '{key}' needs {bytes} bytes but only {fs.Length - fs.Position} are left: truncated");
        var raw = empty(shape, dtype: dtype, device: CPU);
        try
        {
            if (bytes > 0) fs.ReadExactly(raw.bytes);
        }
        catch
        {
            raw.Dispose();
            throw;
        }
        return canonical ? TensorDtypes.ToCanonical(raw) : raw;
    }

    static bool IsSupported(ScalarType t) => TensorDtypes.IsFloating(t) || TensorDtypes.IsInteger(t) || t == ScalarType.Bool;

    static string Key(FileStream fs, string path, long index)
    {
        long n = Leb128(fs, path, $"length of key {index}");
        if (n == 0 || n > MaxKeyBytes || n > fs.Length - fs.Position) throw Bad(path, $"key {index} has an impossible length {n}");
        var buf = new byte[n];
        fs.ReadExactly(buf);
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buf); }
        catch (DecoderFallbackException) { throw Bad(path, $"key {index} is not valid UTF-8"); }
    }

    static long Leb128(Stream s, string path, string what)
    {
        long value = 0;
        for (int shift = 0; ; shift += 7)
        {
            int b = s.ReadByte();
            if (b < 0) throw Bad(path, $"ends while reading the {what}: truncated");
            if (shift == 63 && b > 1) throw Bad(path, $"the {what} does not fit in 64 bits");
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
            if (shift >= 63) throw Bad(path, $"the {what} does not fit in 64 bits");
        }
    }

    static void WriteLeb128(Stream s, long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), "LEB128 here encodes non-negative values only.");
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            s.WriteByte(value == 0 ? b : (byte)(b | 0x80));
        } while (value != 0);
    }

    static WeightsFormatException Bad(string path, string problem) => new(path, problem);
}
