using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>The floating-point type of an exported safetensors file (integer tensors keep their own type).</summary>
public enum ExportDtype { F32, F16, BF16 }

/// <summary>An export ready to stream: the stream deletes its temp file when disposed.</summary>
public sealed record WeightsExport(Stream Content, string FileName, long Bytes);

/// <summary>
/// Writes an entry's weights as safetensors, whatever format they are stored in, with the keys as the checkpoint
/// names them (so the file loads in PyTorch with <c>safetensors.torch.load_file</c> and <c>load_state_dict</c>): the
/// house weights bundled in its zoo folder, or else its imported weights, the same file a run on the entry starts
/// from (<see cref="ZooCatalog.StartingWeightsOf"/>). The header's metadata names the entry, the source file and its
/// sha256. An imported ONNX graph has no keys of its own: it is exported as <c>modelzoo weights import-onnx</c> writes
/// it, the architecture's state_dict after the import without the classifier the file does not hold (BatchNorm's
/// <c>num_batches_tracked</c>, which ONNX does not store, as 0).
/// </summary>
public sealed class WeightsExporter(ZooCatalog catalog, WeightsStore store, ArchitectureRegistry registry)
{
    public static bool TryParseDtype(string? text, out ExportDtype dtype)
    {
        dtype = ExportDtype.F32;
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "f32" or "fp32" or "float32": return true;
            case "f16" or "fp16" or "float16": dtype = ExportDtype.F16; return true;
            case "bf16" or "bfloat16": dtype = ExportDtype.BF16; return true;
            default: return false;
        }
    }

    /// <summary>The export of the entry's bundled or imported weights; null when it has neither.</summary>
    /// <exception cref="BundledWeightsChangedException">The bundled file no longer has the manifest's sha256: it is
    /// refused rather than passed off as the entry's weights.</exception>
    public async Task<WeightsExport?> ExportAsync(ModelManifest m, ExportDtype dtype, CancellationToken ct = default)
    {
        // Hashing a bundled file reads it whole: off the caller's thread, like the conversion.
        if (await Task.Run(() => catalog.StartingWeightsOf(m), ct).ConfigureAwait(false) is not { } source) return null;
        var tmp = store.TempFilePath(".safetensors");
        await Task.Run(() =>
        {
            var stateDict = LoadStateDict(m, source.Path);
            try
            {
                SafeTensors.Save(tmp, stateDict, ScalarTypeOf(dtype), new Dictionary<string, string>
                {
                    ["format"] = "pt",
                    ["modelzoo.entry"] = m.Id,
                    ["modelzoo.source"] = source.Kind == WeightsAvailability.Bundled ? "bundled" : "imported",
                    ["modelzoo.source_file"] = Path.GetFileName(source.Path),
                    ["modelzoo.source_sha256"] = source.Sha256,
                });
            }
            finally { foreach (var t in stateDict.Values) t.Dispose(); }
        }, ct).ConfigureAwait(false);
        // Delete-on-close: the download owns the file, and nothing is left once it has been sent (or abandoned).
        var stream = new FileStream(tmp, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous | FileOptions.SequentialScan);
        var suffix = dtype == ExportDtype.F32 ? "" : "." + dtype.ToString().ToLowerInvariant();
        return new WeightsExport(stream, $"{m.Id}{suffix}.safetensors", stream.Length);
    }

    Dictionary<string, Tensor> LoadStateDict(ModelManifest m, string path)
    {
        if (WeightsFile.DetectFormat(path) != WeightsFormat.Onnx) return WeightsFile.Load(path);
        ZooModel built;
        lock (TorchRuntime.ConstructionLock) built = registry.Create(m.Architecture, ArchitectureOptions.Of(m));
        using var model = built;
        Torch.Weights.Onnx.OnnxImporter.Import(path, model);
        var head = model.ClassifierPrefix + ".";
        return model.state_dict().Where(kv => !kv.Key.StartsWith(head, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    static ScalarType ScalarTypeOf(ExportDtype d) => d switch
    {
        ExportDtype.F16 => ScalarType.Float16,
        ExportDtype.BF16 => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };
}
