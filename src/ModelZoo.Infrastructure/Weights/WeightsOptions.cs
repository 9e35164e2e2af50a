namespace ModelZoo.Infrastructure.Weights;

/// <summary>Settings of the weights store (section <c>Weights</c>).</summary>
public sealed class WeightsOptions
{
    public const string Section = "Weights";

    /// <summary>
    /// The largest checkpoint an import accepts, in bytes. Default 2 GiB: BERT-Large and ResNet-152 checkpoints are
    /// well under it, and an upload is held on disk and then in memory once while it is validated.
    /// </summary>
    public long MaxUploadBytes { get; set; } = 2L * 1024 * 1024 * 1024;
}
