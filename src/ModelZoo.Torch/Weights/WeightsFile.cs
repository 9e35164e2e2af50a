using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

public enum WeightsFormat { SafeTensors, Pth, TorchSharp }

/// <summary>One stored tensor as the file holds it: dtype before widening, named as safetensors names it (F16, I64).</summary>
public sealed record TensorSummary(string Name, string Dtype, long[] Shape);

public sealed record WeightsSummary(string Path, WeightsFormat Format, long Bytes, string Sha256, IReadOnlyList<TensorSummary> Tensors);

/// <summary>
/// Any supported weights file by one call: the format comes from the extension (<c>.safetensors</c>; <c>.pth</c>,
/// <c>.pt</c>, <c>.bin</c>; <c>.dat</c>) or, failing that, from the content (zip magic, a JSON header).
/// </summary>
public static class WeightsFile
{
    public static WeightsFormat DetectFormat(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".safetensors": return WeightsFormat.SafeTensors;
            case ".pth" or ".pt" or ".bin" or ".ckpt": return WeightsFormat.Pth;
            case ".dat": return WeightsFormat.TorchSharp;
        }
        Span<byte> head = stackalloc byte[9];
        using var fs = File.OpenRead(path);
        int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 2 && head[0] == (byte)'P' && head[1] == (byte)'K') return WeightsFormat.Pth;
        if (n == 9 && head[8] == (byte)'{') return WeightsFormat.SafeTensors;
        return WeightsFormat.TorchSharp;
    }

    /// <summary>Loads the state dict in the zoo's form (Float32 / Int64 / Bool, contiguous, CPU).</summary>
    public static Dictionary<string, Tensor> Load(string path) => DetectFormat(path) switch
    {
        WeightsFormat.SafeTensors => SafeTensors.Load(path),
        WeightsFormat.Pth => PthReader.Load(path),
        _ => TorchSharpFormat.Load(path),
    };

    /// <summary>Keys, stored dtypes and shapes, and the sha256 of the file.</summary>
    public static WeightsSummary Inspect(string path)
    {
        var format = DetectFormat(path);
        List<TensorSummary> tensors;
        if (format == WeightsFormat.SafeTensors)
        {
            tensors = SafeTensors.ReadHeader(path).Select(i => new TensorSummary(i.Name, i.Dtype, i.Shape)).ToList();
        }
        else
        {
            var sd = format == WeightsFormat.Pth ? PthReader.Load(path, canonical: false) : TorchSharpFormat.Load(path, canonical: false);
            try { tensors = sd.Select(kv => new TensorSummary(kv.Key, SafeTensors.NameOf(kv.Value.dtype), kv.Value.shape)).ToList(); }
            finally { TensorDtypes.DisposeAll(sd.Values); }
        }
        return new WeightsSummary(path, format, new FileInfo(path).Length, Sha256.OfFile(path), tensors);
    }
}
