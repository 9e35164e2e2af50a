// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON header
// ({name: {dtype, shape, data_offsets}}, optional "__metadata__" of strings), then the raw little-endian bytes.
// The header is checked as strictly as the reference implementation does before any tensor is read, so a corrupt or
// hostile file fails with one clear error instead of a crash or a partial state dict.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>One entry of a safetensors header, as stored (dtype name as written, e.g. <c>F16</c>).</summary>
public sealed record SafeTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

public static class SafeTensors
{
    /// <summary>Same cap as the reference implementation: a header beyond it is corrupt or hostile.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    const string MetadataKey = "__metadata__";

    static readonly Dictionary<string, ScalarType> Readable = new(StringComparer.Ordinal)
    {
        ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["F64"] = ScalarType.Float64, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8, ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    // Known to the format but with no TorchSharp equivalent we load: named in the error rather than "unknown".
    static readonly HashSet<string> KnownUnsupported = new(StringComparer.Ordinal)
    {
        "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    };

    /// <summary>
    /// Reads every tensor: F16, BF16, F32 (and F64) come back as Float32, integer types as Int64, BOOL as Bool, all
    /// on the CPU. Throws <see cref="WeightsFormatException"/> on any corrupt or truncated file.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var fs = OpenRead(path);
        var header = ReadHeader(fs, path);
        var loaded = new Tensor?[header.Tensors.Count];
        try
        {
            // Read in file order so the stream only moves forward; each tensor's bytes go straight from the file into
            // the tensor's own memory (no intermediate byte[]).
            foreach (var i in Enumerable.Range(0, header.Tensors.Count).OrderBy(i => header.Tensors[i].Begin))
            {
                var info = header.Tensors[i];
                var raw = empty(info.Shape, dtype: Readable[info.Dtype], device: CPU);
                try
                {
                    fs.Position = header.DataStart + info.Begin;
                    ReadExactly(fs, raw, path, info.Name);
                }
                catch { raw.Dispose(); throw; }
                loaded[i] = TensorDtypes.ToCanonical(raw);
            }
        }
        catch (Exception e)
        {
            TensorDtypes.DisposeAll(loaded.OfType<Tensor>());
            if (e is WeightsFormatException) throw;
            throw new WeightsFormatException(path, $"could not be read: {e.Message}", e);
        }

        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        for (int i = 0; i < loaded.Length; i++) result.Add(header.Tensors[i].Name, loaded[i]!);
        return result;
    }

    /// <summary>The <c>__metadata__</c> map of the header (empty when there is none); reads only the header.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(fs, path).Metadata;
    }

    /// <summary>The validated header entries in header order, without reading any tensor data.</summary>
    public static IReadOnlyList<SafeTensorInfo> ReadHeader(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(fs, path).Tensors;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> in dictionary order. Floating tensors are stored as <paramref name="dtype"/>
    /// (Float32, Float16 or BFloat16); integer and bool tensors keep their own type. The file is written beside the
    /// target and moved into place, so a failure never leaves a half-written file under <paramref name="path"/>.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, ScalarType dtype = ScalarType.Float32,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"safetensors files are written as Float32, Float16 or BFloat16, not {dtype}.", nameof(dtype));

        var entries = new List<(string Name, Tensor Tensor, ScalarType Stored, long Bytes)>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey)
                throw new ArgumentException($"'{name}' cannot be a tensor name in a safetensors file.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(t, $"tensors[{name}]");
            var stored = TensorDtypes.IsFloating(t.dtype) ? dtype
                : TensorDtypes.IsInteger(t.dtype) || t.dtype == ScalarType.Bool ? t.dtype
                : throw new ArgumentException($"Tensor '{name}' has dtype {t.dtype}, which safetensors export does not support.", nameof(tensors));
            entries.Add((name, t, stored, t.numel() * TensorDtypes.ItemSize(stored)));
        }

        var headerBytes = BuildHeader(entries.Select(e => (e.Name, e.Stored, e.Tensor.shape, e.Bytes)), metadata);
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)headerBytes.Length);
                fs.Write(len);
                fs.Write(headerBytes);
                using var noGrad = no_grad();
                foreach (var e in entries)
                {
                    if (e.Bytes == 0) continue;
                    using var scope = NewDisposeScope();
                    var c = e.Tensor.detach().cpu().to_type(e.Stored).contiguous();
                    WriteBytes(fs, c, e.Name);
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    static byte[] BuildHeader(IEnumerable<(string Name, ScalarType Stored, long[] Shape, long Bytes)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, stored, shape, bytes) in entries)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", NameOf(stored));
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned, as the reference writer does.
        var padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    /// <summary>The safetensors name of a dtype (F32, BF16, I64, ...), also the vocabulary inspect output uses.</summary>
    internal static string NameOf(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64", ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8", ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"dtype {t}"),
    };

    sealed record Header(long DataStart, List<SafeTensorInfo> Tensors, Dictionary<string, string> Metadata);

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
    }

    static Header ReadHeader(FileStream fs, string path)
    {
        long fileLength = fs.Length;
        if (fileLength < 8) throw Bad(path, $"is {fileLength} bytes long, too short for a safetensors header");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > MaxHeaderBytes) throw Bad(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit (corrupt or not a safetensors file)");
        if ((long)n > fileLength - 8) throw Bad(path, $"header length {n} runs past the end of the file ({fileLength} bytes): truncated or corrupt");
        if (n < 2) throw Bad(path, $"header length {n} is too short for a JSON object");

        var json = new byte[n];
        fs.ReadExactly(json);
        long dataStart = 8 + (long)n;
        long dataLength = fileLength - dataStart;

        // JsonDocument checks UTF-8 only when a string is read; check it once here so names can never fail later.
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw Bad(path, "header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");
            var tensors = new List<SafeTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Bad(path, $"header names '{prop.Name}' twice");
                if (prop.Name == MetadataKey) ReadMetadataObject(prop.Value, metadata, path);
                else tensors.Add(ReadTensorEntry(prop.Name, prop.Value, dataLength, path));
            }
            CheckLayout(tensors, dataLength, path);
            return new Header(dataStart, tensors, metadata);
        }
    }

    static void ReadMetadataObject(JsonElement e, Dictionary<string, string> into, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object of strings");
        foreach (var p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__ value '{p.Name}' is not a string");
            if (!into.TryAdd(p.Name, p.Value.GetString()!)) throw Bad(path, $"__metadata__ names '{p.Name}' twice");
        }
    }

    static SafeTensorInfo ReadTensorEntry(string name, JsonElement e, long dataLength, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"entry '{name}' is not an object");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "dtype" when dtype is null && p.Value.ValueKind == JsonValueKind.String:
                    dtype = p.Value.GetString()!;
                    break;
                case "shape" when shape is null:
                    shape = ReadLongs(p.Value, name, "shape", path);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadLongs(p.Value, name, "data_offsets", path);
                    break;
                default:
                    throw Bad(path, $"entry '{name}' has an unexpected, repeated or mistyped field '{p.Name}'");
            }
        }
        if (dtype is null || shape is null || offsets is null)
            throw Bad(path, $"entry '{name}' needs dtype, shape and data_offsets");
        if (!Readable.ContainsKey(dtype))
            throw Bad(path, KnownUnsupported.Contains(dtype)
                ? $"tensor '{name}' has dtype {dtype}, which this reader does not support"
                : $"tensor '{name}' has unknown dtype '{dtype}'");
        if (offsets.Length != 2) throw Bad(path, $"tensor '{name}' data_offsets must be [begin, end]");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end) throw Bad(path, $"tensor '{name}' data_offsets [{begin}, {end}] are reversed");
        if (end > dataLength)
            throw Bad(path, $"tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes): truncated or corrupt");
        var numel = TensorDtypes.NumelOf(shape);
        long itemSize = TensorDtypes.ItemSize(Readable[dtype]);
        if (numel is null || numel.Value > long.MaxValue / itemSize)
            throw Bad(path, $"tensor '{name}' shape {TensorDtypes.Format(shape)} is too large");
        if (end - begin != numel.Value * itemSize)
            throw Bad(path, $"tensor '{name}' holds {end - begin} bytes but shape {TensorDtypes.Format(shape)} of {dtype} needs {numel.Value * itemSize}");
        if (end - begin > int.MaxValue)
            throw Bad(path, $"tensor '{name}' is larger than 2 GiB, which this reader does not support");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    static long[] ReadLongs(JsonElement e, string name, string field, string path)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}' {field} is not an array");
        var list = new List<long>();
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var x) || x < 0)
                throw Bad(path, $"tensor '{name}' {field} holds '{v.GetRawText()}', not a non-negative integer");
            list.Add(x);
        }
        return list.ToArray();
    }

    /// <summary>Tensors may not overlap, and (as in the reference reader) together cover the data exactly.</summary>
    static void CheckLayout(List<SafeTensorInfo> tensors, long dataLength, string path)
    {
        long cursor = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < cursor) throw Bad(path, $"tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] overlap another tensor");
            if (t.Begin > cursor) throw Bad(path, $"bytes {cursor}..{t.Begin} of the data belong to no tensor");
            cursor = t.End;
        }
        if (cursor != dataLength) throw Bad(path, $"{dataLength - cursor} bytes after the last tensor belong to no tensor");
    }

    static void ReadExactly(FileStream fs, Tensor t, string path, string name)
    {
        if (t.numel() == 0) return;
        try
        {
            fs.ReadExactly(t.bytes);
        }
        catch (EndOfStreamException e)
        {
            throw Bad(path, $"ended inside tensor '{name}': truncated", e);
        }
    }

    static void WriteBytes(Stream s, Tensor t, string name)
    {
        if ((long)t.numel() * t.ElementSize > int.MaxValue)
            throw new NotSupportedException($"Tensor '{name}' is larger than 2 GiB, which this writer does not support.");
        s.Write(t.bytes);
    }

    static WeightsFormatException Bad(string path, string problem, Exception? inner = null) => new(path, problem, inner);
}
