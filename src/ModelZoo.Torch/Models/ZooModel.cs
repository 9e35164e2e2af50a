using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>A named group of parameters (a stage, from stem to head) for freezing and layer-wise learning rates.</summary>
public sealed record ParameterGroup(string Name, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> Parameters);

/// <summary>
/// The uniform model API, like timm's: strategy code calls these and never switches on an architecture's name.
/// <list type="bullet">
/// <item><see cref="ForwardFeatures"/>: backbone output before pooling (a feature map for CNNs).</item>
/// <item><see cref="ForwardHead"/>: pooling (if any) and the classifier; <c>preLogits</c> stops before it.</item>
/// <item><see cref="NumFeatures"/>: width of the pooled features the classifier sees.</item>
/// <item><see cref="ResetClassifier"/>: a new, freshly initialised classifier for <c>numClasses</c>.</item>
/// </list>
/// Module field names follow the reference state_dict keys (snake_case, <c>layer1.0.bn2</c>), which is why fields in
/// architecture files are lower-case and not .NET-cased: official checkpoints then load with no renaming table.
/// </summary>
public abstract class ZooModel : nn.Module<Tensor, Tensor>
{
    protected ZooModel(string name) : base(name) { }

    public abstract string Architecture { get; }
    public abstract int NumFeatures { get; }
    public abstract int NumClasses { get; }
    /// <summary>state_dict prefix of the classifier, e.g. <c>fc</c> or <c>classifier.1</c>.</summary>
    public abstract string ClassifierPrefix { get; }

    /// <summary>True for architectures whose CPU inference runs channels-last (<see cref="InferenceLayout"/>): only those
    /// verified to give the NCHW output, which every architecture's test checks.</summary>
    public virtual bool ChannelsLastInference => false;

    public abstract Tensor ForwardFeatures(Tensor x);
    /// <summary>With <paramref name="preLogits"/>, returns exactly the input of the classifier module at
    /// <see cref="ClassifierPrefix"/>, so <see cref="ForwardClassifier"/> completes it (tested for every architecture).</summary>
    public abstract Tensor ForwardHead(Tensor features, bool preLogits = false);

    /// <summary>The classifier alone, on pre-logits. Lets a strategy run a frozen backbone without a graph and
    /// train only this part.</summary>
    public Tensor ForwardClassifier(Tensor preLogits)
    {
        var module = named_modules().FirstOrDefault(m => m.name == ClassifierPrefix).module as nn.Module<Tensor, Tensor>
            ?? throw new InvalidOperationException($"{Architecture}: no classifier module at '{ClassifierPrefix}'.");
        return module.call(preLogits);
    }
    public abstract void ResetClassifier(int numClasses);

    /// <summary>Stage names, stem first and head last, each with the state_dict prefixes it owns.</summary>
    protected abstract IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes { get; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Parameters grouped by stage. Every parameter belongs to exactly one group (tested).</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var stages = StagePrefixes;
        var buckets = stages.Select(_ => new List<(string, TorchSharp.Modules.Parameter)>()).ToArray();
        foreach (var (name, p) in named_parameters())
        {
            int i = -1;
            for (int s = 0; s < stages.Count && i < 0; s++)
                if (stages[s].Prefixes.Any(prefix => name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal))) i = s;
            if (i < 0) throw new InvalidOperationException($"{Architecture}: parameter '{name}' belongs to no stage.");
            buckets[i].Add((name, p));
        }
        return stages.Select((s, i) => new ParameterGroup(s.Stage, buckets[i])).ToList();
    }

    /// <summary>Stage names, stem first and head last (the names of <see cref="ParameterGroups"/>).</summary>
    public IReadOnlyList<string> StageNames => StagePrefixes.Select(s => s.Stage).ToList();

    /// <summary>
    /// The stage whose output <see cref="ForwardFeatures"/> returns (for CNNs its last convolutional stage, which
    /// Grad-CAM explains): the last stage that is not part of the head. Head stages are found from the model's own
    /// names rather than per architecture: a stage is the head's when every prefix it owns lies in the classifier's
    /// top-level module (<c>fc</c>, or <c>classifier</c> with its pre-logits layers), since <see cref="ForwardHead"/>
    /// runs exactly that module.
    /// </summary>
    public string FeatureStage => FeatureStageEntry.Stage;

    /// <summary>The state_dict path of the module whose output <see cref="ForwardFeatures"/> returns: the last module
    /// <see cref="FeatureStage"/> owns (<c>layer4</c>, <c>features.18</c>); every image architecture's test hooks it.</summary>
    public string FeatureModule => FeatureStageEntry.Prefixes[^1];

    (string Stage, string[] Prefixes) FeatureStageEntry
    {
        get
        {
            var head = ClassifierPrefix.Split('.')[0];
            var stages = StagePrefixes;
            for (int i = stages.Count - 1; i >= 0; i--)
                if (!stages[i].Prefixes.All(p => p.Split('.')[0] == head)) return stages[i];
            throw new InvalidOperationException($"{Architecture}: every stage is part of the head.");
        }
    }

    /// <summary>
    /// The outermost modules a stage owns: those whose name is one of the stage's prefixes (a module under a prefix
    /// is reached through it). Strategies use these to put single stages in eval mode.
    /// </summary>
    public IReadOnlyList<nn.Module> StageModules(string stage)
    {
        var entry = StagePrefixes.FirstOrDefault(s => s.Stage == stage);
        if (entry.Prefixes is null) throw new ArgumentException($"{Architecture}: no stage '{stage}'.", nameof(stage));
        var prefixes = entry.Prefixes.ToHashSet(StringComparer.Ordinal);
        return named_modules().Where(m => prefixes.Contains(m.name)).Select(m => m.module).ToList();
    }

    /// <summary>Parameters of everything but the classifier.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> BackboneParameters() =>
        named_parameters().Where(np => !IsClassifier(np.name)).Select(np => np.parameter);

    public IEnumerable<TorchSharp.Modules.Parameter> ClassifierParameters() =>
        named_parameters().Where(np => IsClassifier(np.name)).Select(np => np.parameter);

    bool IsClassifier(string name) => name == ClassifierPrefix || name.StartsWith(ClassifierPrefix + ".", StringComparison.Ordinal);

    /// <summary>
    /// Swaps a registered child module (TorchSharp's register_module refuses an existing name). The new child keeps
    /// the name, so state_dict keys stay the reference keys; the old one is disposed.
    /// </summary>
    protected void ReplaceChild(string name, nn.Module replacement)
    {
        var old = _internal_submodules.ContainsKey(name) ? _internal_submodules[name] : null;
        _internal_submodules.Remove(name);
        register_module(name, replacement);
        if (!ReferenceEquals(old, replacement)) old?.Dispose();
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>
    /// The state_dict key that a reference checkpoint's <paramref name="key"/> loads into, or null for a key the
    /// reference loader itself drops (Hugging Face drops, e.g., the <c>position_ids</c> buffer that older BERT files
    /// carry, and re-prefixes base-model keys). Importers map every key through this before they look for missing
    /// and unexpected keys, and should say how many they dropped. Default: checkpoint keys are state_dict keys.
    /// </summary>
    public virtual string? CheckpointKey(string key) => key;

    /// <summary>
    /// State_dict prefixes whose keys a checkpoint of a sibling architecture legitimately lacks as a whole; on import
    /// they keep their fresh initialisation, with a message (<see cref="Weights.ImportOptions.FreshIfAbsent"/>).
    /// Default: none, every key must be there.
    /// </summary>
    public virtual IReadOnlyList<string> FreshIfAbsentPrefixes => [];
}
