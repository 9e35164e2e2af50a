// PyTorch checkpoints as torch.save(state_dict) writes them since PyTorch 1.6: a zip archive holding
//   <name>/data.pkl    the pickled OrderedDict; each tensor is _rebuild_tensor_v2(storage, offset, size, stride, ...)
//                      and each storage a persistent id ('storage', torch.FloatStorage, key, location, numel)
//   <name>/data/<key>  the raw bytes of each storage (numel elements of the storage's type)
//   <name>/byteorder   "little" (absent before PyTorch 2.1, which meant little-endian)
// Several tensors may view one storage (offset, size and stride), as tied or sliced weights do.
// The whole pickle is run and every view checked against its storage before any tensor is built.
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

public static class PthReader
{
    const long MaxPickleBytes = 256L << 20;

    /// <summary>
    /// Reads a <c>torch.save(state_dict)</c> file: floating tensors come back as Float32, integer ones as Int64, each
    /// contiguous on the CPU (views are copied out of their storage). Throws <see cref="WeightsFormatException"/> on
    /// corrupt files, legacy or TorchScript archives, and pickles that reference anything but tensors.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, canonical: true);

    /// <summary>With <paramref name="canonical"/> false, tensors keep the storage's dtype (for inspection).</summary>
    internal static Dictionary<string, Tensor> Load(string path, bool canonical)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        RejectLegacy(path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return Read(zip, path, canonical);
        }
        catch (WeightsFormatException) { throw; }
        catch (PickleException e) { throw new WeightsFormatException(path, e.Message, e); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or NotSupportedException)
        {
            throw new WeightsFormatException(path, $"is not a readable PyTorch zip archive ({e.Message})", e);
        }
        catch (Exception e) when (e is not (FileNotFoundException or UnauthorizedAccessException or OperationCanceledException))
        {
            // Anything else (libtorch refusing an allocation, a zip library surprise) is still this file's problem.
            throw new WeightsFormatException(path, $"could not be read: {e.Message}", e);
        }
    }

    static void RejectLegacy(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var fs = File.OpenRead(path);
        int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new WeightsFormatException(path, "is in the legacy torch.save format (before PyTorch 1.6), which is not supported; " +
                "re-save it with a current PyTorch: torch.save(torch.load(f), f2)");
        if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            throw new WeightsFormatException(path, "is not a zip archive, so not a torch.save file");
    }

    static Dictionary<string, Tensor> Read(ZipArchive zip, string path, bool canonical)
    {
        var pkl = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                         && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length).ToList();
        if (pkl.Count != 1)
            throw new WeightsFormatException(path, pkl.Count == 0 ? "has no <name>/data.pkl: not a torch.save archive" : "has more than one data.pkl");
        var prefix = pkl[0].FullName[..^"data.pkl".Length];
        if (zip.GetEntry(prefix + "constants.pkl") is not null)
            throw new WeightsFormatException(path, "is a TorchScript archive (torch.jit.save), not torch.save(state_dict); save model.state_dict() instead");
        CheckByteOrder(zip.GetEntry(prefix + "byteorder"), path);

        if (pkl[0].Length > MaxPickleBytes) throw new WeightsFormatException(path, $"data.pkl is {pkl[0].Length} bytes, over the {MaxPickleBytes} limit");
        var pickle = ReadAll(pkl[0], path);

        var resolver = new TorchResolver();
        var root = PickleMachine.Run(pickle, resolver, Path.GetFileName(path) + " data.pkl");
        var refs = StateDictOf(root, path);

        // Validate every storage and view before reading any bytes, so a bad file yields no tensors at all.
        foreach (var s in resolver.Storages.Values)
        {
            var entry = zip.GetEntry(prefix + "data/" + s.Key)
                ?? throw new WeightsFormatException(path, $"storage '{s.Key}' is referenced but {prefix}data/{s.Key} is missing");
            long itemSize = TensorDtypes.ItemSize(s.Dtype);
            if (s.Numel > int.MaxValue / itemSize)
                throw new WeightsFormatException(path, $"storage '{s.Key}' is larger than 2 GiB, which this reader does not support");
            if (entry.Length != s.Numel * itemSize)
                throw new WeightsFormatException(path, $"storage '{s.Key}' should hold {s.Numel} x {itemSize} bytes but its entry has {entry.Length}: truncated or corrupt");
        }
        foreach (var (name, t) in refs) CheckView(name, t, path);

        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var result = new Dictionary<string, Tensor>(refs.Count, StringComparer.Ordinal);
        try
        {
            foreach (var s in resolver.Storages.Values)
                storages[s.Key] = ReadStorage(zip.GetEntry(prefix + "data/" + s.Key)!, s, path);
            using var noGrad = no_grad();
            foreach (var (name, t) in refs)
                result.Add(name, Materialise(storages[t.Storage.Key], t, canonical));
        }
        catch
        {
            TensorDtypes.DisposeAll(result.Values);
            throw;
        }
        finally
        {
            TensorDtypes.DisposeAll(storages.Values);
        }
        return result;
    }

    static void CheckByteOrder(ZipArchiveEntry? entry, string path)
    {
        if (entry is null) return;
        var order = Encoding.ASCII.GetString(ReadAll(entry, path, maxBytes: 16)).Trim();
        if (order != "little")
            throw new WeightsFormatException(path, $"stores tensors in '{order}' byte order; only little-endian checkpoints are supported");
    }

    static List<(string Name, TensorRef Tensor)> StateDictOf(object? root, string path)
    {
        if (root is not PickleDict dict)
            throw new WeightsFormatException(path, $"holds a {Describe(root)}, not a state_dict (a dict of tensors); save model.state_dict()");
        var list = new List<(string, TensorRef)>(dict.Items.Count);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string name) throw new WeightsFormatException(path, $"has a non-string key ({Describe(k)}): not a state_dict");
            if (v is not TensorRef t)
                throw new WeightsFormatException(path, $"entry '{name}' is a {Describe(v)}, not a tensor: this looks like a training checkpoint, " +
                    "not a state_dict; save model.state_dict()");
            list.Add((name, t));
        }
        return list;
    }

    static void CheckView(string name, TensorRef t, string path)
    {
        if (t.Size.Length != t.Stride.Length)
            throw new WeightsFormatException(path, $"tensor '{name}' has {t.Size.Length} sizes but {t.Stride.Length} strides");
        if (t.Offset < 0 || t.Size.Any(s => s < 0) || t.Stride.Any(s => s < 0))
            throw new WeightsFormatException(path, $"tensor '{name}' has a negative offset, size or stride");
        var numel = TensorDtypes.NumelOf(t.Size);
        // Zero strides let a tiny storage claim a huge tensor; cap what one view may expand to, as for storages.
        if (numel is null || numel.Value > int.MaxValue / sizeof(float))
            throw new WeightsFormatException(path, $"tensor '{name}' of size {TensorDtypes.Format(t.Size)} is too large");
        if (numel == 0) return;
        long last = t.Offset;
        try
        {
            for (int i = 0; i < t.Size.Length; i++) last = checked(last + (t.Size[i] - 1) * t.Stride[i]);
        }
        catch (OverflowException)
        {
            throw new WeightsFormatException(path, $"tensor '{name}' view overflows");
        }
        if (last >= t.Storage.Numel)
            throw new WeightsFormatException(path, $"tensor '{name}' (offset {t.Offset}, size {TensorDtypes.Format(t.Size)}, stride {TensorDtypes.Format(t.Stride)}) " +
                $"reaches element {last} of storage '{t.Storage.Key}', which has {t.Storage.Numel}");
    }

    static Tensor ReadStorage(ZipArchiveEntry entry, StorageRef s, string path)
    {
        var t = empty([s.Numel], dtype: s.Dtype, device: CPU);
        try
        {
            if (s.Numel == 0) return t;
            using var stream = entry.Open();
            stream.ReadExactly(t.bytes);
            if (stream.ReadByte() != -1) throw new WeightsFormatException(path, $"storage '{s.Key}' holds more bytes than declared");
            return t;
        }
        catch (EndOfStreamException e)
        {
            t.Dispose();
            throw new WeightsFormatException(path, $"storage '{s.Key}' ends early: truncated", e);
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Copies the view out of its storage into a tensor of its own (contiguous, canonical dtype).</summary>
    static Tensor Materialise(Tensor storage, TensorRef t, bool canonical)
    {
        using var view = storage.as_strided(t.Size, t.Stride, t.Offset);
        var target = canonical ? TensorDtypes.Canonical(storage.dtype) : storage.dtype;
        var copy = view.to_type(target, copy: true);
        if (copy.is_contiguous()) return copy;
        var contiguous = copy.contiguous();
        copy.Dispose();
        return contiguous;
    }

    static byte[] ReadAll(ZipArchiveEntry entry, string path, long maxBytes = MaxPickleBytes)
    {
        if (entry.Length > maxBytes) throw new WeightsFormatException(path, $"{entry.FullName} is unexpectedly large ({entry.Length} bytes)");
        var buf = new byte[entry.Length];
        using var s = entry.Open();
        try { s.ReadExactly(buf); }
        catch (EndOfStreamException e) { throw new WeightsFormatException(path, $"{entry.FullName} ends early: truncated", e); }
        return buf;
    }

    static string Describe(object? v) => v switch
    {
        null => "None",
        string => "string",
        long => "int",
        double => "float",
        bool => "bool",
        PickleDict => "dict",
        PickleTuple => "tuple",
        List<object?> => "list",
        TensorRef => "tensor",
        _ => v.GetType().Name,
    };

    sealed record StorageRef(string Key, ScalarType Dtype, long Numel);

    sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>The allow-list: the few globals a state_dict pickle needs, each mapped to a plain value.</summary>
    sealed class TorchResolver : IPickleResolver
    {
        static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
        {
            ["FloatStorage"] = ScalarType.Float32, ["HalfStorage"] = ScalarType.Float16,
            ["BFloat16Storage"] = ScalarType.BFloat16, ["DoubleStorage"] = ScalarType.Float64,
            ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32, ["ShortStorage"] = ScalarType.Int16,
            ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte, ["BoolStorage"] = ScalarType.Bool,
        };

        public Dictionary<string, StorageRef> Storages { get; } = new(StringComparer.Ordinal);

        public bool IsAllowed(string module, string name) => (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_parameter") => true,
            ("torch", _) => StorageTypes.ContainsKey(name),
            _ => false,
        };

        public object? Call(PickleGlobal callable, object?[] args) => (callable.Module, callable.Name) switch
        {
            ("collections", "OrderedDict") when args.Length == 0 => new PickleDict(),
            ("torch._utils", "_rebuild_tensor_v2") => RebuildTensor(args),
            // (data, requires_grad, backward_hooks): a state_dict only needs the data.
            ("torch._utils", "_rebuild_parameter") when args.Length >= 1 && args[0] is TensorRef t => t,
            _ => throw new InvalidOperationException($"cannot be called with these {args.Length} arguments"),
        };

        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        static TensorRef RebuildTensor(object?[] args)
        {
            if (args.Length < 4) throw new ArgumentException($"expects at least 4 arguments, got {args.Length}");
            var storage = args[0] as StorageRef ?? throw new ArgumentException("argument 0 is not a storage");
            var offset = args[1] as long? ?? throw new ArgumentException("storage offset is not an int");
            return new TensorRef(storage, offset, Ints(args[2], "size"), Ints(args[3], "stride"));
        }

        static long[] Ints(object? v, string what) => v is PickleTuple t && t.Items.All(i => i is long)
            ? t.Items.Select(i => (long)i!).ToArray()
            : throw new ArgumentException($"{what} is not a tuple of ints");

        public object? PersistentLoad(object? pid)
        {
            if (pid is not PickleTuple { Items: ["storage", PickleGlobal type, string key, string, long numel] })
                throw new PickleException($"persistent id {pid} is not ('storage', type, key, location, numel)");
            if (!StorageTypes.TryGetValue(type.Name, out var dtype)) throw new PickleException($"unknown storage type {type}");
            if (numel < 0) throw new PickleException($"storage '{key}' has negative size {numel}");
            if (key.Length == 0 || key.Contains('/') || key.Contains('\\') || key.Contains(".."))
                throw new PickleException($"storage key '{key}' is not a plain name");
            var s = new StorageRef(key, dtype, numel);
            if (Storages.TryGetValue(key, out var known))
            {
                if (known != s) throw new PickleException($"storage '{key}' is declared twice with different types or sizes");
                return known;
            }
            Storages[key] = s;
            return s;
        }
    }
}
