using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>How forgiving an import is.</summary>
/// <param name="ResetHeadOnMismatch">
/// When only the classifier differs (another number of classes, or no classifier in the checkpoint), import the
/// backbone and re-initialise the head. Off for parity checks, which must load exactly.</param>
/// <param name="AllowMissing">
/// Keys the checkpoint lacks keep the model's values (listed in the report). For feature-only checkpoints, such as a
/// backbone saved without its head; a parity check then proves that nothing it needed was missing.</param>
public sealed record ImportOptions(bool ResetHeadOnMismatch = true, bool AllowMissing = false)
{
    public static ImportOptions Strict { get; } = new(ResetHeadOnMismatch: false, AllowMissing: false);
}

/// <summary>A key present in both the checkpoint and the model whose tensors cannot be copied one to the other.</summary>
public sealed record KeyMismatch(string Key, string Problem)
{
    public override string ToString() => $"{Key}: {Problem}";
}

/// <summary>How a checkpoint's keys compare with a model's state_dict.</summary>
public sealed record StateDictDiff(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<KeyMismatch> Mismatched)
{
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;
}

/// <summary>What an import did. <see cref="Messages"/> are meant for the user (CLI output, UI).</summary>
public sealed record ImportReport(int TensorsCopied, bool HeadReinitialised, IReadOnlyList<string> NotInCheckpoint, IReadOnlyList<string> Messages);

/// <summary>
/// Copies a loaded state dict into a <see cref="ZooModel"/> after validating all of it: on any problem it throws
/// <see cref="WeightsImportException"/> listing every missing key, unexpected key and shape mismatch, and the model is
/// left untouched. Tensors are copied with <c>copy_</c> under no_grad, so the model keeps its device and dtype.
/// </summary>
public static class StateDictImporter
{
    /// <summary>How many keys of each kind an error message names before summarising the rest.</summary>
    public const int MaxListed = 10;

    public static StateDictDiff Compare(ZooModel model, IReadOnlyDictionary<string, Tensor> checkpoint)
    {
        var target = model.state_dict();
        var missing = target.Keys.Where(k => !checkpoint.ContainsKey(k)).ToList();
        var unexpected = checkpoint.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var mismatched = new List<KeyMismatch>();
        foreach (var (key, t) in target)
        {
            if (!checkpoint.TryGetValue(key, out var c)) continue;
            if (!c.shape.SequenceEqual(t.shape))
                mismatched.Add(new(key, $"checkpoint {TensorDtypes.Format(c.shape)}, model {TensorDtypes.Format(t.shape)}"));
            else if (TensorDtypes.IsFloating(c.dtype) != TensorDtypes.IsFloating(t.dtype) || (c.dtype == ScalarType.Bool) != (t.dtype == ScalarType.Bool))
                mismatched.Add(new(key, $"checkpoint {c.dtype}, model {t.dtype}"));
        }
        return new StateDictDiff(missing, unexpected, mismatched);
    }

    public static ImportReport Import(ZooModel model, IReadOnlyDictionary<string, Tensor> checkpoint, ImportOptions? options = null)
    {
        options ??= new ImportOptions();
        var diff = Compare(model, checkpoint);
        bool InHead(string key) => key == model.ClassifierPrefix || key.StartsWith(model.ClassifierPrefix + ".", StringComparison.Ordinal);

        var headKeys = model.state_dict().Keys.Where(InHead).ToList();
        bool headMismatched = diff.Mismatched.Any(m => InHead(m.Key));
        bool headAbsent = headKeys.Count > 0 && headKeys.All(diff.Missing.Contains);
        // The head is only reset when it is the sole problem; otherwise the error lists everything, head included.
        bool backboneFits = diff.Unexpected.Count == 0 && diff.Mismatched.All(m => InHead(m.Key))
                            && (options.AllowMissing || diff.Missing.All(InHead));
        bool resetHead = options.ResetHeadOnMismatch && (headMismatched || headAbsent) && backboneFits;

        var missing = diff.Missing.Where(k => !(resetHead && InHead(k))).ToList();
        var blocking = new StateDictDiff(
            options.AllowMissing ? [] : missing,
            diff.Unexpected,
            resetHead ? [] : diff.Mismatched);
        if (!blocking.IsExact) throw new WeightsImportException(Describe(model, blocking), blocking.Missing, blocking.Unexpected,
            blocking.Mismatched.Select(m => m.ToString()).ToList());

        var messages = new List<string>();
        var target = model.state_dict();
        int copied = 0;
        using (no_grad())
        {
            foreach (var (key, t) in target)
            {
                if (resetHead && InHead(key)) continue;
                if (!checkpoint.TryGetValue(key, out var source)) continue;
                t.copy_(source);
                copied++;
            }
        }

        if (resetHead)
        {
            ReinitialiseHead(model);
            messages.Add(headAbsent
                ? $"classifier {model.ClassifierPrefix}: not in the checkpoint, model {model.NumClasses}: head re-initialised"
                : $"classifier {model.ClassifierPrefix}: checkpoint has {CheckpointClasses(model, checkpoint)} classes, model {model.NumClasses}: head re-initialised");
        }
        if (options.AllowMissing && missing.Count > 0)
            messages.Add($"{missing.Count} {Plural(missing.Count, "key")} not in the checkpoint kept the model's values: {List(missing)}");
        messages.Insert(0, $"imported {copied} of {target.Count} tensors into {model.Architecture}");
        return new ImportReport(copied, resetHead, missing, messages);
    }

    /// <summary>A fresh head of the same size, moved to where the backbone lives (ResetClassifier builds on the CPU in fp32).</summary>
    static void ReinitialiseHead(ZooModel model)
    {
        var reference = model.BackboneParameters().FirstOrDefault();
        model.ResetClassifier(model.NumClasses);
        if (reference is null) return;
        var head = model.ClassifierParameters().FirstOrDefault();
        if (head is null) return;
        if (head.device != reference.device) model.to(reference.device);
        if (head.dtype != reference.dtype && TensorDtypes.IsFloating(reference.dtype)) model.to(reference.dtype);
    }

    static string CheckpointClasses(ZooModel model, IReadOnlyDictionary<string, Tensor> checkpoint) =>
        checkpoint.TryGetValue(model.ClassifierPrefix + ".weight", out var w) && w.shape.Length > 0 ? w.shape[0].ToString()
        : checkpoint.TryGetValue(model.ClassifierPrefix + ".bias", out var b) && b.shape.Length > 0 ? b.shape[0].ToString()
        : "a different number of";

    static string Describe(ZooModel model, StateDictDiff d)
    {
        var parts = new List<string>();
        if (d.Missing.Count > 0) parts.Add($"{d.Missing.Count} missing {Plural(d.Missing.Count, "key")} ({List(d.Missing)})");
        if (d.Unexpected.Count > 0) parts.Add($"{d.Unexpected.Count} unexpected {Plural(d.Unexpected.Count, "key")} ({List(d.Unexpected)})");
        if (d.Mismatched.Count > 0) parts.Add($"{d.Mismatched.Count} shape {Plural(d.Mismatched.Count, "mismatch", "mismatches")} ({List(d.Mismatched.Select(m => m.ToString()).ToList())})");
        return $"Checkpoint does not fit {model.Architecture}: {string.Join("; ", parts)}. Nothing was imported.";
    }

    static string List(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", and {items.Count - MaxListed} more" : "");

    static string Plural(int n, string one, string? many = null) => n == 1 ? one : many ?? one + "s";
}
