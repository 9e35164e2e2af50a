using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>The floating-point type of an exported safetensors file (integer tensors keep their own type).</summary>
public enum ExportDtype { F32, F16, BF16 }

/// <summary>An export ready to stream: the stream deletes its temp file when disposed.</summary>
public sealed record WeightsExport(Stream Content, string FileName, long Bytes);

/// <summary>
/// Writes an entry's imported weights as safetensors, whatever format they were imported in, with the keys as the
/// checkpoint names them (so the file loads in PyTorch with <c>safetensors.torch.load_file</c> and
/// <c>load_state_dict</c>). The header's metadata names the entry and the sha256 of the imported source file.
/// </summary>
public sealed class WeightsExporter(WeightsStore store)
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

    /// <summary>The export of the entry's imported weights; null when the entry has none imported.</summary>
    public async Task<WeightsExport?> ExportAsync(ModelManifest m, ExportDtype dtype, CancellationToken ct = default)
    {
        if (store.Find(m) is not { } imported) return null;
        var tmp = store.TempFilePath(".safetensors");
        await Task.Run(() =>
        {
            var stateDict = WeightsFile.Load(imported.Path);
            try
            {
                SafeTensors.Save(tmp, stateDict, ScalarTypeOf(dtype), new Dictionary<string, string>
                {
                    ["format"] = "pt",
                    ["modelzoo.entry"] = m.Id,
                    ["modelzoo.source_file"] = imported.File,
                    ["modelzoo.source_sha256"] = imported.Sha256,
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

    static ScalarType ScalarTypeOf(ExportDtype d) => d switch
    {
        ExportDtype.F16 => ScalarType.Float16,
        ExportDtype.BF16 => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };
}
