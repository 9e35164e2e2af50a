namespace ModelZoo.Torch.Models;

public enum Modality { Image, Text }

/// <summary>
/// What it takes to build an architecture: classes, for config-driven families (BERT) the config, and for a head
/// adapted to small inputs its shape. <paramref name="HeadPoolSize"/> and <paramref name="HeadHidden"/> exist for
/// VGG, whose torchvision head (7x7 pool, 25088->4096->4096) means nothing at 32x32 and weighs ~120 M parameters:
/// an adapted head keeps torchvision's module names (<c>classifier.0/3/6</c>), so its state_dict keys stay the
/// reference keys and only shapes change. Architectures without such a head refuse them rather than ignore them.
/// Null means the reference shape. A manifest records both (<c>head.pool_size</c>, <c>head.hidden</c>), so whoever
/// loads house weights rebuilds the shape that made them (<see cref="Of"/>).
/// </summary>
public sealed record ArchitectureOptions(int NumClasses = 1000, string? ConfigJson = null, int? HeadPoolSize = null, int? HeadHidden = null)
{
    /// <summary>The options a catalogue entry's manifest describes.</summary>
    public static ArchitectureOptions Of(ModelZoo.Core.Catalog.ModelManifest m) =>
        new(m.Head.NumClasses, HeadPoolSize: m.Head.PoolSize, HeadHidden: m.Head.Hidden);

    /// <summary>Throws for an architecture whose head has no adaptable shape when a shape was asked for.</summary>
    public void RequireReferenceHead(string architecture)
    {
        if (HeadPoolSize is not null || HeadHidden is not null)
            throw new ArgumentException($"{architecture} has no adaptable head: head pool size and hidden width apply to VGG only.");
    }
}

/// <summary>What strategies need to know of an architecture before a run builds it.</summary>
public sealed record ArchitectureFacts(IReadOnlyList<string> Stages, bool HasBatchNorm);

/// <param name="AdaptableHead">Whether <see cref="ArchitectureOptions.HeadPoolSize"/> and <see cref="ArchitectureOptions.HeadHidden"/>
/// mean something to this architecture; the registry refuses them for the others.</param>
/// <param name="FineTuneAs">The architecture a transfer run trains when it starts from this one, for architectures
/// without a classifier of their own (a masked LM, a bare encoder); null: this one.</param>
public sealed record ArchitectureInfo(string Name, string Family, Modality Modality, Func<ArchitectureOptions, ZooModel> Create,
    bool AdaptableHead = false, string? FineTuneAs = null);

/// <summary>
/// Architectures register themselves by name, like timm's <c>register_model</c>; tests iterate the registry so
/// every architecture gets the same contract checks. Registering a name twice throws.
/// </summary>
public sealed class ArchitectureRegistry
{
    readonly Dictionary<string, ArchitectureInfo> _byName = new(StringComparer.Ordinal);

    public void Register(ArchitectureInfo info)
    {
        if (!_byName.TryAdd(info.Name, info))
            throw new InvalidOperationException($"Architecture '{info.Name}' is already registered.");
    }

    public IReadOnlyCollection<ArchitectureInfo> All => _byName.Values;

    public bool Contains(string name) => _byName.ContainsKey(name);

    public ArchitectureInfo Get(string name) =>
        _byName.TryGetValue(name, out var a) ? a
        : throw new KeyNotFoundException($"Unknown architecture '{name}'. Known: {string.Join(", ", _byName.Keys.Order())}.");

    /// <summary>What a run fine-tunes for an entry of architecture <paramref name="name"/>: itself, or the classifier
    /// that shares its backbone (<see cref="ArchitectureInfo.FineTuneAs"/>).</summary>
    public ArchitectureInfo ForFineTuning(string name)
    {
        var info = Get(name);
        return info.FineTuneAs is { } other ? Get(other) : info;
    }

    public ZooModel Create(string name, ArchitectureOptions? options = null)
    {
        var info = Get(name);
        options ??= new();
        if (!info.AdaptableHead) options.RequireReferenceHead(name);
        return info.Create(options);
    }

    /// <summary>Parameter count of the real module, built on the meta device: exact, instant, and no memory even
    /// for VGG's 138 M parameters.</summary>
    /// <remarks>Only the counting thread builds on meta (<see cref="Native.TorchRuntime.BuildDevice"/>); counts are cached for
    /// the process, and the portal computes them at start-up.</remarks>
    public long CountParameters(string name, ArchitectureOptions? options = null)
    {
        options ??= new();
        return ParameterCounts.GetOrAdd((name, options), key =>
            Native.TorchRuntime.OnMeta(() => Create(key.Item1, key.Item2), m => m.ParameterCount()));
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, ArchitectureOptions), long> ParameterCounts = new();

    /// <summary>The named stages (stem first, head last) and whether the module has BatchNorm layers, built on the
    /// meta device like <see cref="CountParameters"/> and cached the same way.</summary>
    public ArchitectureFacts Facts(string name, ArchitectureOptions? options = null)
    {
        options ??= new();
        return FactsCache.GetOrAdd((name, options), key =>
            Native.TorchRuntime.OnMeta(() => Create(key.Item1, key.Item2), m => new ArchitectureFacts(
                m.StageNames,
                m.modules().Any(x => x is TorchSharp.Modules.BatchNorm1d or TorchSharp.Modules.BatchNorm2d or TorchSharp.Modules.BatchNorm3d))));
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, ArchitectureOptions), ArchitectureFacts> FactsCache = new();

    /// <summary>The registry with every architecture this project implements.</summary>
    public static ArchitectureRegistry Default { get; } = CreateDefault();

    static ArchitectureRegistry CreateDefault()
    {
        var r = new ArchitectureRegistry();
        ResNet.RegisterAll(r);
        Vgg.RegisterAll(r);
        MobileNetV2.RegisterAll(r);
        MobileNetV3.RegisterAll(r);
        Bert.RegisterAll(r);
        return r;
    }
}
