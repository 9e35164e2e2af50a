using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Compression;

/// <summary>
/// Post-training int8 weight quantisation of a trained state_dict, per output channel and symmetric: for every
/// floating weight with two or more dimensions (conv kernels, linear matrices, a text model's embedding tables) and
/// output channel c, <c>scale[c] = max|w[c]| / 127</c>, <c>q = round(w / scale[c])</c> clamped to [-127, 127], zero
/// point 0. The file keeps the weight's key for the I8 tensor and adds <c>&lt;key&gt;.scale</c> (F32, one value per
/// output channel); everything else (BatchNorm, LayerNorm, biases, small tensors) stays F32 under its own key. The
/// header's metadata names the scheme, so the file explains how to read it; it needs the loader
/// (<see cref="Dequantize(string)"/> here, <c>docs/loaders/load_int8_safetensors.py</c> in Python), because
/// <c>load_state_dict</c> alone would copy integers into the float weights and fail on the extra keys.
/// </summary>
public static class Int8Weights
{
    public const string Scheme = "int8-symmetric-per-channel";
    public const string SchemeKey = "modelzoo.quantization";
    public const string ScaleSuffix = ".scale";

    /// <summary>Weights with fewer elements stay F32: the scale vector would eat most of the saving and the tensor
    /// is too small to matter for the file size (a 10-class head's 10×C matrix is still quantised above this).</summary>
    public const long MinElements = 256;

    /// <summary>Whether <paramref name="key"/> is quantised: a floating tensor of 2+ dims with at least
    /// <see cref="MinElements"/> elements whose key does not already end like a scale.</summary>
    public static bool IsQuantised(string key, Tensor t) =>
        t.dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64
        && t.dim() >= 2 && t.numel() >= MinElements && !key.EndsWith(ScaleSuffix, StringComparison.Ordinal);

    /// <summary>One weight quantised: the int8 tensor and the F32 scales (shape [out channels]).</summary>
    public static (Tensor Q, Tensor Scale) Quantise(Tensor weight)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Double precision for the division, so the only error left is the rounding to an integer (|err| <= scale/2).
        var w = weight.detach().cpu().to_type(ScalarType.Float64);
        var rows = w.reshape(w.shape[0], -1);
        var scale32 = (rows.abs().amax([1L]) / 127.0).to_type(ScalarType.Float32);
        var scale = scale32.to_type(ScalarType.Float64);
        // An all-zero channel has scale 0: its integers are 0, and 0 * 0 gives the channel back exactly.
        var safe = where(scale > 0, scale, ones_like(scale));
        var q = (rows / safe.unsqueeze(1)).round().clamp(-127, 127).to_type(ScalarType.Int8).reshape(w.shape);
        return (q.MoveToOuterDisposeScope(), scale32.MoveToOuterDisposeScope());
    }

    /// <summary>F32 weight from its int8 values and per-channel scales.</summary>
    public static Tensor Dequantise(Tensor q, Tensor scale)
    {
        using var scope = NewDisposeScope();
        var shape = new long[q.dim()];
        Array.Fill(shape, 1L);
        shape[0] = q.shape[0];
        var w = q.to_type(ScalarType.Float32) * scale.to_type(ScalarType.Float32).reshape(shape);
        return w.MoveToOuterDisposeScope();
    }

    /// <summary>The file's tensors, quantised where <see cref="IsQuantised"/> says so, in the original order (each
    /// scale right after its weight). The caller owns (and disposes) the returned tensors.</summary>
    public static Dictionary<string, Tensor> Quantise(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, t) in stateDict)
            {
                if (stateDict.ContainsKey(key + ScaleSuffix))
                    throw new ArgumentException($"The state_dict already holds '{key}{ScaleSuffix}', the name the scale of '{key}' would take.", nameof(stateDict));
                if (IsQuantised(key, t))
                {
                    var (q, s) = Quantise(t);
                    result.Add(key, q);
                    result.Add(key + ScaleSuffix, s);
                }
                else result.Add(key, t.detach().cpu().to_type(TensorDtypes.IsFloating(t.dtype) ? ScalarType.Float32 : t.dtype).clone());
            }
            return result;
        }
        catch
        {
            TensorDtypes.DisposeAll(result.Values);
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="targetPath"/> from the F32 weights file <paramref name="sourcePath"/> (temp file, then
    /// rename): the quantised tensors, and the source's metadata plus the scheme's.
    /// </summary>
    public static void Save(string sourcePath, string targetPath)
    {
        var weights = SafeTensors.Load(sourcePath);
        try
        {
            var quantised = Quantise(weights);
            try
            {
                var metadata = SafeTensors.ReadMetadata(sourcePath).ToDictionary(StringComparer.Ordinal);
                foreach (var (k, v) in SchemeMetadata) metadata[k] = v;
                metadata["modelzoo.quantization.keys"] = System.Text.Json.JsonSerializer.Serialize(
                    quantised.Keys.Where(k => quantised.ContainsKey(k + ScaleSuffix)).ToArray());
                SafeTensors.Save(targetPath, quantised, ScalarType.Float32, metadata);
            }
            finally { TensorDtypes.DisposeAll(quantised.Values); }
        }
        finally { TensorDtypes.DisposeAll(weights.Values); }
    }

    /// <summary>What the header says about the scheme, for a reader without this code.</summary>
    public static readonly IReadOnlyDictionary<string, string> SchemeMetadata = new Dictionary<string, string>
    {
        [SchemeKey] = Scheme,
        ["modelzoo.quantization.axis"] = "0",
        ["modelzoo.quantization.scale_suffix"] = ScaleSuffix,
        ["modelzoo.quantization.zero_point"] = "0",
        ["modelzoo.quantization.dequantize"] =
            "For each I8 tensor <key> with an F32 tensor <key>.scale of shape [out]: weight = float32(<key>) * <key>.scale reshaped to [out, 1, ...]. " +
            "Every other tensor is F32 and loads as it is. Loader: docs/loaders/load_int8_safetensors.py in ModelZoo.",
    };

    /// <summary>The F32 state_dict of a file <see cref="Save"/> wrote: every quantised weight dequantised under its
    /// own key, the scales dropped, everything else as stored. The caller owns the tensors.</summary>
    /// <exception cref="WeightsFormatException">The file does not say it holds this scheme, or a scale is missing or
    /// does not fit its weight.</exception>
    public static Dictionary<string, Tensor> Dequantize(string path)
    {
        var metadata = SafeTensors.ReadMetadata(path);
        if (!metadata.TryGetValue(SchemeKey, out var scheme) || scheme != Scheme)
            throw new WeightsFormatException(path, $"does not say it holds {Scheme} weights ({SchemeKey} is '{metadata.GetValueOrDefault(SchemeKey) ?? "absent"}')");
        var stored = SafeTensors.ReadHeader(path).ToDictionary(h => h.Name, h => h.Dtype, StringComparer.Ordinal);
        var raw = SafeTensors.Load(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, t) in raw)
            {
                if (key.EndsWith(ScaleSuffix, StringComparison.Ordinal) && stored.GetValueOrDefault(key[..^ScaleSuffix.Length]) == "I8") continue;
                if (stored[key] == "I8")
                {
                    if (!raw.TryGetValue(key + ScaleSuffix, out var scale))
                        throw new WeightsFormatException(path, $"holds int8 tensor '{key}' without its scale '{key}{ScaleSuffix}'");
                    if (scale.dim() != 1 || scale.shape[0] != t.shape[0])
                        throw new WeightsFormatException(path, $"scale '{key}{ScaleSuffix}' has shape {TensorDtypes.Format(scale.shape)}, not [{t.shape[0]}] (one per output channel of '{key}')");
                    result.Add(key, Dequantise(t, scale));
                }
                else result.Add(key, t.alias());
            }
            return result;
        }
        catch
        {
            TensorDtypes.DisposeAll(result.Values);
            throw;
        }
        finally { TensorDtypes.DisposeAll(raw.Values); }
    }
}
