using System.Text.Json.Serialization;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>
/// The record of a completed import, stored beside the weights file as <c>&lt;file&gt;.import.json</c>. It is written
/// last, so its presence is what makes an entry's weights "available": a crash mid-import leaves no record and the
/// entry keeps saying "import to enable".
/// </summary>
public sealed record ImportedWeights
{
    public string EntryId { get; init; } = "";
    /// <summary>The file name in the store: the manifest's <c>weights.file</c>.</summary>
    public string File { get; init; } = "";
    /// <summary>The format the content proved to be (safetensors, pth, torchsharp).</summary>
    public string Format { get; init; } = "";
    /// <summary>Full lower-case sha256 of the stored file, computed while it was received.</summary>
    public string Sha256 { get; init; } = "";
    public long Bytes { get; init; }
    public DateTimeOffset ImportedAt { get; init; }
    /// <summary>The name the file had on the user's machine (for the record; the store uses the manifest's name).</summary>
    public string OriginalFileName { get; init; } = "";
    /// <summary>What the validation said, e.g. "The checkpoint's classifier ('fc') has 10 classes and the model has 1000, so the head was initialised fresh.".</summary>
    public IReadOnlyList<string> Messages { get; init; } = [];

    /// <summary>Absolute path of the weights file; filled in when read, not stored.</summary>
    [JsonIgnore] public string Path { get; init; } = "";
}
