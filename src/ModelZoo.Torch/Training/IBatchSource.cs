using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Where the trainer's batches come from: images (<see cref="ImageBatcher"/>) or texts (<see cref="TextBatcher"/>).
/// The loop only asks for the inputs and labels of some dataset indices; what the model reads is the source's concern.
/// </summary>
public interface IBatchSource
{
    /// <summary>Inputs and int64 labels <c>[B]</c> of the examples at <paramref name="indices"/>, on the run's device.</summary>
    (Tensor X, Tensor Y) Batch(ReadOnlySpan<int> indices);
}
