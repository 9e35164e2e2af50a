using ModelZoo.Torch.Weights.Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>A weights file's format. <see cref="Onnx"/> is a graph: its tensors have keys only once a walker has
/// mapped them onto a model (<see cref="OnnxImporter"/>).</summary>
public enum WeightsFormat { SafeTensors, Pth, TorchSharp, Onnx }

/// <summary>One stored tensor as the file holds it: dtype before widening, named as safetensors names it (F16, I64).</summary>
public sealed record TensorSummary(string Name, string Dtype, long[] Shape);

public sealed record WeightsSummary(string Path, WeightsFormat Format, long Bytes, string Sha256, IReadOnlyList<TensorSummary> Tensors);

/// <summary>
/// Any supported weights file by one call: the format comes from the extension (<c>.safetensors</c>; <c>.pth</c>,
/// <c>.pt</c>, <c>.bin</c>; <c>.dat</c>; <c>.onnx</c>) or, failing that, from the content (zip magic, a JSON header).
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
            case ".onnx": return WeightsFormat.Onnx;
        }
        return DetectFromContent(path) ?? WeightsFormat.TorchSharp;
    }

    /// <summary>
    /// The format the first bytes prove (zip magic: a <c>.pth</c> archive; a JSON header after the length: safetensors),
    /// ignoring the name; null when they prove neither, as TorchSharp's format has no magic number. Uploads are judged
    /// by this, since a browser's file name can say anything.
    /// </summary>
    public static WeightsFormat? DetectFromContent(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var fs = File.OpenRead(path);
        int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 2 && head[0] == (byte)'P' && head[1] == (byte)'K') return WeightsFormat.Pth;
        if (n == 9 && head[8] == (byte)'{') return WeightsFormat.SafeTensors;
        return null;
    }

    /// <summary>Loads the state dict in the zoo's form (Float32 / Int64 / Bool, contiguous, CPU).</summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, DetectFormat(path));

    /// <summary>Loads with the reader of <paramref name="format"/>, whatever the file is called.</summary>
    /// <exception cref="NotSupportedException">An ONNX file: its tensors need a model to be named (the overload with one).</exception>
    public static Dictionary<string, Tensor> Load(string path, WeightsFormat format) => format switch
    {
        WeightsFormat.SafeTensors => SafeTensors.Load(path),
        WeightsFormat.Pth => PthReader.Load(path),
        WeightsFormat.TorchSharp => TorchSharpFormat.Load(path),
        _ => throw new NotSupportedException($"{Path.GetFileName(path)} is an ONNX graph: its tensors get state_dict keys only by walking the graph onto a model."),
    };

    /// <summary>The format a manifest's <c>weights.format</c> names (<c>safetensors</c>, <c>pth</c>, <c>torchsharp</c>).</summary>
    public static WeightsFormat? FromManifestName(string name) => name switch
    {
        "safetensors" => WeightsFormat.SafeTensors,
        "pth" => WeightsFormat.Pth,
        "torchsharp" => WeightsFormat.TorchSharp,
        "onnx" => WeightsFormat.Onnx,
        _ => null,
    };

    /// <summary>Keys, stored dtypes and shapes, and the sha256 of the file.</summary>
    public static WeightsSummary Inspect(string path)
    {
        var format = DetectFormat(path);
        List<TensorSummary> tensors;
        if (format == WeightsFormat.Onnx)
        {
            // Initialisers as the graph names them; keys come only from mapping onto a model.
            tensors = OnnxModel.Read(path).Initializers.Values
                .Select(t => new TensorSummary(t.Name, ((global::Onnx.TensorProto.Types.DataType)t.DataType) switch
                {
                    global::Onnx.TensorProto.Types.DataType.Float => "F32",
                    global::Onnx.TensorProto.Types.DataType.Int64 => "I64",
                    var other => other.ToString().ToUpperInvariant(),
                }, t.Dims.ToArray())).ToList();
        }
        else if (format == WeightsFormat.SafeTensors)
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
