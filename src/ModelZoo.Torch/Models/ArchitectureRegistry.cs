namespace ModelZoo.Torch.Models;

public enum Modality { Image, Text }

/// <summary>What it takes to build an architecture: classes, and for config-driven families (BERT) the config.</summary>
public sealed record ArchitectureOptions(int NumClasses = 1000, string? ConfigJson = null);

public sealed record ArchitectureInfo(string Name, string Family, Modality Modality, Func<ArchitectureOptions, ZooModel> Create);

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

    public ZooModel Create(string name, ArchitectureOptions? options = null) => Get(name).Create(options ?? new());

    /// <summary>Parameter count of the real module, built on the meta device: exact, instant, and no memory even
    /// for VGG's 138 M parameters.</summary>
    /// <remarks>The meta device is libtorch's process-wide default device while the count runs, so a tensor that
    /// another thread creates without naming its device would land on meta. Counts are therefore cached for the
    /// process, and the portal computes them all at start-up, before any run, import or benchmark can start.</remarks>
    public long CountParameters(string name, ArchitectureOptions? options = null)
    {
        options ??= new();
        return ParameterCounts.GetOrAdd((name, options), key =>
            Native.TorchRuntime.OnMeta(() => Create(key.Item1, key.Item2), m => m.ParameterCount()));
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, ArchitectureOptions), long> ParameterCounts = new();

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
