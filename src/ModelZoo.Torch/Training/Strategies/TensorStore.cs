using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Named tensors a strategy keeps between epochs (snapshots of parameters, Fisher information, a results matrix) as the
/// buffers of a module, so a checkpoint carries them and a resumed run continues with them. Buffer names are the
/// given names with dots replaced (a buffer name may not contain one).
/// </summary>
public sealed class TensorStore : nn.Module
{
    readonly Dictionary<string, Tensor> _byName = new(StringComparer.Ordinal);

    public TensorStore(string name) : base(name) { }

    /// <summary>Adds a buffer of this shape, filled with <paramref name="fill"/>, on <paramref name="device"/>.</summary>
    public Tensor Add(string name, long[] shape, Device device, float fill = 0f)
    {
        var t = full(shape, fill, dtype: ScalarType.Float32, device: device);
        register_buffer(Key(name), t);
        _byName[name] = t;
        return t;
    }

    public Tensor this[string name] => _byName[name];

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Copies <paramref name="source"/> into the buffer (no graph).</summary>
    public void Capture(string name, Tensor source)
    {
        using var _ = no_grad();
        _byName[name].copy_(source);
    }

    /// <summary>Copies the buffer into <paramref name="target"/> (no graph).</summary>
    public void RestoreInto(string name, Tensor target)
    {
        using var _ = no_grad();
        target.copy_(_byName[name]);
    }

    static string Key(string name) => name.Replace(".", "__", StringComparison.Ordinal);
}
