using ModelZoo.Torch.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// DANN's domain classifier: Linear(features, hidden), ReLU, Dropout, Linear(hidden, 1) on the backbone's pooled
/// features, giving one logit per example (target = 1). One logit and binary cross-entropy rather than two classes:
/// the same decision with half the last layer. Field names are its checkpoint keys (<c>fc1.weight</c>, ...).
/// </summary>
public sealed class DomainClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly ReLU relu;
    private readonly Dropout dropout;
    private readonly Linear fc2;

    public DomainClassifier(long features, long hidden, double dropout) : base(nameof(DomainClassifier))
    {
        fc1 = nn.Linear(features, hidden, device: TorchRuntime.BuildDevice);
        relu = nn.ReLU();
        this.dropout = nn.Dropout(dropout);
        fc2 = nn.Linear(hidden, 1, device: TorchRuntime.BuildDevice);
        RegisterComponents();
    }

    public long Hidden => fc1.out_features;

    /// <returns>[B] logits: above 0 says target.</returns>
    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return fc2.call(dropout.call(relu.call(fc1.call(features)))).squeeze(1).MoveToOuterDisposeScope();
    }
}
