using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>
/// A <c>nn.Sequential</c> whose children can be swapped by name. TorchSharp's <c>Sequential</c> keeps its children in
/// private lists that nothing can replace, so a head such as VGG's <c>classifier.6</c> or MobileNet's
/// <c>classifier.1</c> could not be reset without rebuilding (and re-initialising) the whole <c>classifier</c>.
/// Children live in the ordinary module dictionary, so state_dict keys are <c>classifier.6.weight</c> as in PyTorch.
/// </summary>
public sealed class SwappableSequential : nn.Module<Tensor, Tensor>
{
    readonly List<string> _order = [];

    public SwappableSequential(params (string Name, nn.Module<Tensor, Tensor> Module)[] children) : base("Sequential")
    {
        foreach (var (name, m) in children)
        {
            register_module(name, m);
            _order.Add(name);
        }
    }

    /// <summary>The children in the order <see cref="Run"/> calls them (a replaced child keeps its place).</summary>
    public IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> Ordered => _order.Select(n => (n, this[n])).ToList();

    public nn.Module<Tensor, Tensor> this[string name] => (nn.Module<Tensor, Tensor>)_internal_submodules[name];

    /// <summary>Replaces a child, keeping its name and place; the old child is disposed.</summary>
    public void Replace(string name, nn.Module<Tensor, Tensor> replacement)
    {
        if (!_order.Contains(name)) throw new KeyNotFoundException($"No child '{name}' in this Sequential.");
        var old = _internal_submodules[name];
        _internal_submodules.Remove(name);
        register_module(name, replacement);
        if (!ReferenceEquals(old, replacement)) old.Dispose();
    }

    /// <summary>Runs the children in order, stopping before <paramref name="stopBefore"/> when it is given.</summary>
    public Tensor Run(Tensor x, string? stopBefore = null)
    {
        using var scope = NewDisposeScope();
        foreach (var name in _order)
        {
            if (name == stopBefore) break;
            x = this[name].call(x);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The classifier part of a CNN head: all of it, or (pre-logits) everything before the final Linear
    /// named <paramref name="headName"/>. Shared by VGG and the MobileNets, whose classifiers differ only in layers.</summary>
    public Tensor RunHead(Tensor pooled, string headName, bool preLogits) => preLogits ? Run(pooled, stopBefore: headName) : Run(pooled);

    /// <summary>Swaps the final Linear for a fresh one with <paramref name="numClasses"/> outputs on the same device.</summary>
    public void ResetLinear(string headName, long inFeatures, int numClasses, Action<Linear> init)
    {
        var old = (Linear)this[headName];
        var fc = nn.Linear(inFeatures, numClasses, device: old.weight!.device);
        init(fc);
        Replace(headName, fc);
    }

    public override Tensor forward(Tensor x) => Run(x);
}
