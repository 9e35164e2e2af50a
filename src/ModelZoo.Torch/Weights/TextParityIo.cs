using System.Text.Json;
using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>
/// The io file of a text model's parity check: JSON as a transformers script writes it (the fixtures'
/// <c>bert_dev_seed7.expected.json</c>), with <c>input_ids</c>, optional <c>attention_mask</c> and
/// <c>token_type_ids</c> (<c>[batch, length]</c> integers), <c>logits</c>, and optionally
/// <c>last_hidden_state_first_token</c> (<c>[batch, hidden]</c>). Read into the tensors <see cref="ParityCheck"/> uses:
/// <c>input</c> (a packed <see cref="TextBatch"/>), <c>output</c> (the logits) and, when present,
/// <see cref="FirstTokenFeatures"/>.
/// </summary>
public static class TextParityIo
{
    /// <summary>What a features run on a text model compares: the final hidden state at position 0 ([CLS]).</summary>
    public const string FirstTokenFeatures = "first_token_features";

    public static bool Handles(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="WeightsFormatException">Not JSON, a field missing, or rows of unequal length.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new WeightsFormatException(path, $"is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new WeightsFormatException(path, "must be a JSON object");
            var result = new Dictionary<string, Tensor>();
            try
            {
                var ids = Matrix(root, "input_ids", path, required: true, ScalarType.Int64)!;
                using var mask = Matrix(root, "attention_mask", path, required: false, ScalarType.Int64);
                using var types = Matrix(root, "token_type_ids", path, required: false, ScalarType.Int64);
                using (ids)
                {
                    try { result["input"] = TextBatch.Pack(ids, mask, types); }
                    catch (ArgumentException e) { throw new WeightsFormatException(path, e.Message, e); }
                }
                result["output"] = Matrix(root, "logits", path, required: true, ScalarType.Float32)!;
                if (Matrix(root, "last_hidden_state_first_token", path, required: false, ScalarType.Float32) is { } first)
                    result[FirstTokenFeatures] = first;
                return result;
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
        }
    }

    static Tensor? Matrix(JsonElement root, string name, string path, bool required, ScalarType dtype)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
            return required ? throw new WeightsFormatException(path, $"has no '{name}'") : null;
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0 || e.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.Array))
            throw new WeightsFormatException(path, $"'{name}' must be a non-empty list of rows");
        var rows = e.EnumerateArray().Select(r => r.EnumerateArray().ToList()).ToList();
        int width = rows[0].Count;
        if (width == 0 || rows.Any(r => r.Count != width)) throw new WeightsFormatException(path, $"'{name}' rows must be non-empty and of equal length");
        try
        {
            if (dtype == ScalarType.Int64)
                return tensor(rows.SelectMany(r => r.Select(v => v.GetInt64())).ToArray(), [rows.Count, width], device: CPU);
            return tensor(rows.SelectMany(r => r.Select(v => v.GetSingle())).ToArray(), [rows.Count, width], device: CPU);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            throw new WeightsFormatException(path, $"'{name}' holds a value that is not a {(dtype == ScalarType.Int64 ? "whole number" : "number")}", ex);
        }
    }
}
