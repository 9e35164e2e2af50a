using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Ganin &amp; Lempitsky's gradient-reversal layer and their schedule for its weight λ. The layer is the identity going
/// forward and multiplies the gradient by -λ going back, so one backward pass trains a domain classifier to tell the
/// domains apart and the features before it to hide them.
/// </summary>
public static class GradientReversal
{
    /// <summary>
    /// <c>d + λ·(d − x)</c> with <c>d = x.detach()</c>: the same function as <c>(1+λ)·d − λ·x</c>, but its forward value
    /// is bit-for-bit <paramref name="x"/> (<c>d − x</c> is exactly zero) where the other rounds twice. Only <c>−λ·x</c>
    /// carries a gradient, so none of TorchSharp's custom autograd machinery is needed.
    /// </summary>
    public static Tensor Apply(Tensor x, double lambda)
    {
        using var scope = NewDisposeScope();
        var d = x.detach();
        return d.add(d.sub(x).mul(lambda)).MoveToOuterDisposeScope();
    }

    /// <summary>λ at a share <paramref name="progress"/> (0 to 1) of training: <c>max·(2/(1+exp(−10p)) − 1)</c>, 0 at
    /// the start, 0.987·max half way, 0.99991·max at the end. A weak adversary first lets the features learn the
    /// classes before they are pushed to hide the domain (Ganin et al., JMLR 2016).</summary>
    public static double Lambda(double progress, double max) =>
        max * (2.0 / (1.0 + Math.Exp(-10.0 * Math.Clamp(progress, 0, 1))) - 1.0);
}
