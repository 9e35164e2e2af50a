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
/// <param name="FreshIfAbsent">
/// A group of keys the model declares optional (<see cref="ZooModel.FreshIfAbsentPrefixes"/>, e.g. BERT's pooler,
/// which a masked-LM checkpoint never has) may be wholly absent: it keeps its fresh initialisation, with a message.
/// A group that is only partly there is still an error. Off for parity checks and for house weights.</param>
public sealed record ImportOptions(bool ResetHeadOnMismatch = true, bool AllowMissing = false, bool FreshIfAbsent = true)
{
    public static ImportOptions Strict { get; } = new(ResetHeadOnMismatch: false, AllowMissing: false, FreshIfAbsent: false);
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
        checkpoint = MapKeys(model, checkpoint, out _);
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
        checkpoint = MapKeys(model, checkpoint, out var dropped);
        var diff = Compare(model, checkpoint);
        bool InHead(string key) => key == model.ClassifierPrefix || key.StartsWith(model.ClassifierPrefix + ".", StringComparison.Ordinal);
        var fresh = options.FreshIfAbsent ? WhollyAbsentGroups(model, diff.Missing) : [];
        if (fresh.Count > 0)
            diff = diff with { Missing = diff.Missing.Where(k => !fresh.Any(g => g.Keys.Contains(k))).ToList() };

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
                ? $"The checkpoint has no classifier ('{model.ClassifierPrefix}'), so the head was initialised fresh for the model's {model.NumClasses} classes."
                : $"The checkpoint's classifier ('{model.ClassifierPrefix}') has {CheckpointClasses(model, checkpoint)} classes and the model has {model.NumClasses}, " +
                  "so the head was initialised fresh.");
        }
        foreach (var g in fresh)
            messages.Add($"{g.Keys.Count} {Plural(g.Keys.Count, "key")} under '{g.Prefix}' not in the checkpoint (it was saved by a model without them, " +
                         $"as a masked-LM checkpoint has no pooler): initialised fresh, as transformers does, and trained only where the strategy trains them: {List(g.Keys)}");
        if (options.AllowMissing && missing.Count > 0)
            messages.Add($"{missing.Count} {Plural(missing.Count, "key")} not in the checkpoint kept the model's values: {List(missing)}");
        if (dropped.Count > 0)
            messages.Add($"{dropped.Count} checkpoint {Plural(dropped.Count, "key")} not used, as the reference loader does not use them: {List(dropped)}");
        messages.Insert(0, $"imported {copied} of {target.Count} tensors into {model.Architecture}");
        return new ImportReport(copied, resetHead, missing, messages);
    }

    /// <summary>The model's optional key groups that the checkpoint lacks entirely.</summary>
    static List<(string Prefix, List<string> Keys)> WhollyAbsentGroups(ZooModel model, IReadOnlyList<string> missing)
    {
        var groups = new List<(string, List<string>)>();
        var all = model.state_dict().Keys.ToList();
        foreach (var prefix in model.FreshIfAbsentPrefixes)
        {
            var keys = all.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (keys.Count > 0 && keys.All(missing.Contains)) groups.Add((prefix, keys));
        }
        return groups;
    }

    /// <summary>
    /// Checkpoint keys as the model names them (<see cref="ZooModel.CheckpointKey"/>: e.g. BERT's <c>bert.</c> prefix,
    /// legacy LayerNorm names), without the keys the reference loader drops. Two keys that land on one name keep
    /// their own names, so they show up as unexpected rather than one silently winning.
    /// </summary>
    static IReadOnlyDictionary<string, Tensor> MapKeys(ZooModel model, IReadOnlyDictionary<string, Tensor> checkpoint, out List<string> dropped)
    {
        dropped = [];
        var mapped = new Dictionary<string, Tensor>(checkpoint.Count, StringComparer.Ordinal);
        bool renamed = false;
        foreach (var (key, t) in checkpoint)
        {
            var target = model.CheckpointKey(key);
            if (target is null) { dropped.Add(key); continue; }
            if (target != key) renamed = true;
            if (!mapped.TryAdd(target, t)) mapped.TryAdd(key, t);
        }
        return dropped.Count == 0 && !renamed ? checkpoint : mapped;
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
