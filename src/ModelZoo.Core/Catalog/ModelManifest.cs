using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelZoo.Core.Catalog;

/// <summary>
/// <c>zoo/&lt;id&gt;/model.json</c>: one weights entry of the catalogue, like torchvision's <c>Weights(meta=...)</c>
/// and timm's <c>pretrained_cfg</c>. Published facts carry their source; an unknown fact stays null.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>Folder name: <c>&lt;architecture&gt;.&lt;tag&gt;</c>.</summary>
    public string Id { get; init; } = "";
    public string Architecture { get; init; } = "";
    public string Tag { get; init; } = "";
    public string Family { get; init; } = "";
    public string Task { get; init; } = "";
    public string Title { get; init; } = "";
    public string Summary { get; init; } = "";
    public Preprocessing Preprocessing { get; init; } = new();
    public HeadInfo Head { get; init; } = new();
    public WeightsInfo? Weights { get; init; }
    /// <summary>A config-driven architecture's transformers <c>config.json</c>, a file in the entry's folder
    /// (e.g. a house BERT's size); null means the architecture's default configuration.</summary>
    public string? Config { get; init; }
    /// <summary>What a text model needs besides its weights (vocabulary, config, casing, length); null for images.</summary>
    public TextInfo? Text { get; init; }
    public IReadOnlyList<PublishedMetric> Metrics { get; init; } = [];
    /// <summary>Parameter count computed from the module (checked against the code by a test).</summary>
    public long? Params { get; init; }
    public double? Gflops { get; init; }
    public LicenseInfo License { get; init; } = new();
    public string Provenance { get; init; } = "";
    public string? Recipe { get; init; }
    public IReadOnlyList<string> Sources { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}

public sealed record Preprocessing
{
    public int InputSize { get; init; } = 224;
    public int? ResizeSize { get; init; }
    public string Interpolation { get; init; } = "bilinear";
    public IReadOnlyList<double> Mean { get; init; } = [0.485, 0.456, 0.406];
    public IReadOnlyList<double> Std { get; init; } = [0.229, 0.224, 0.225];
}

public sealed record HeadInfo
{
    /// <summary>state_dict prefix of the classifier (e.g. <c>fc</c>, <c>classifier.1</c>).</summary>
    public string Classifier { get; init; } = "";
    public int NumClasses { get; init; }
    public string? ClassesSource { get; init; }
}

public sealed record WeightsInfo
{
    public string File { get; init; } = "";
    public string Format { get; init; } = "";
    /// <summary>Full sha256 when known; the published prefix otherwise (torchvision names carry 8 hex digits).</summary>
    public string? Sha256 { get; init; }
    public string? Sha256Prefix { get; init; }
    public long? Size { get; init; }
    public string? Url { get; init; }
}

/// <summary>
/// A text model's tokenizer and config, as Hugging Face publishes them beside the weights (<c>vocab.txt</c>,
/// <c>config.json</c>, <c>tokenizer_config.json</c>'s <c>do_lower_case</c> and <c>model_max_length</c>). The files
/// are looked up in the entry's zoo folder (house entries commit them), then beside the imported weights.
/// </summary>
public sealed record TextInfo
{
    /// <summary>WordPiece vocabulary, one token per line (a plain file name).</summary>
    public string VocabFile { get; init; } = "";
    /// <summary>transformers <c>config.json</c> (a plain file name); null: the architecture's built-in default.</summary>
    public string? ConfigFile { get; init; }
    public bool Lowercase { get; init; } = true;
    /// <summary>null follows <see cref="Lowercase"/>, as Hugging Face's BertTokenizer does.</summary>
    public bool? StripAccents { get; init; }
    /// <summary>Longest input in tokens, [CLS] and [SEP] included.</summary>
    public int MaxLength { get; init; } = 512;
    /// <summary>Where the casing and length facts come from.</summary>
    public string? Source { get; init; }
}

public sealed record PublishedMetric
{
    public string Name { get; init; } = "";
    public double? Value { get; init; }
    public string Dataset { get; init; } = "";
    public string Source { get; init; } = "";
}

public sealed record LicenseInfo
{
    public string? Name { get; init; }
    public string? Source { get; init; }
}
