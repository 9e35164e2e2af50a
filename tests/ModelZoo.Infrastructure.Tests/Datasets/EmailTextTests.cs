using System.Text;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// EmailText on messages the hand-written parser it replaced got wrong or never met (the basic cases are in
/// TextBuiltInDatasetsTests). Each message is written out here; base64 bodies are encoded in the test so the reader
/// sees the text they carry.
/// </summary>
public class EmailTextTests
{
    static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void NestedAlternativeInsideMixed_GivesTheAlternativesPlainTextOnce_ThenTheNextPart_AndSkipsTheAttachment()
    {
        var raw = """
            Subject: Trip report
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer"

            This is a multi-part message in MIME format.
            --outer
            Content-Type: multipart/alternative; boundary="inner"

            --inner
            Content-Type: text/plain; charset=utf-8

            The trip went well.
            --inner
            Content-Type: multipart/related; boundary="rel"

            --rel
            Content-Type: text/html; charset=utf-8

            <p>The trip went <b>well</b>.</p><img src="cid:map">
            --rel
            Content-Type: image/png
            Content-ID: <map>
            Content-Transfer-Encoding: base64

            iVBORw0KGgo=
            --rel--
            --inner--
            --outer
            Content-Type: text/plain

            Photos follow next week.
            --outer
            Content-Type: image/jpeg; name=a.jpg
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename=a.jpg

            /9j/4AAQSkZJRgABAQ==
            --outer--
            """;
        // The old parser put the outer plain part first and repeated the alternative's HTML after its plain text.
        EmailText.Extract(raw).ShouldBe("Trip report\n\nThe trip went well.\n\nPhotos follow next week.");

        // With no plain text anywhere, the HTML inside the nested multipart is read.
        var htmlOnly = raw.Replace("--inner\nContent-Type: text/plain; charset=utf-8\n\nThe trip went well.\n", "");
        htmlOnly.ShouldNotContain("charset=utf-8\n\nThe trip");
        EmailText.Extract(htmlOnly).ShouldBe("Trip report\n\nThe trip went well.\n\nPhotos follow next week.");
    }

    [Fact]
    public void EncodedWordSubjects_InTwoCharsets_AreDecoded_AndAdjacentWordsJoinAsRfc2047Says()
    {
        var utf8 = Encoding.UTF8.GetBytes("Grüße");
        // "ü" is two bytes in UTF-8; the second encoded word starts in the middle of it.
        var first = Convert.ToBase64String(utf8[..3]);
        var second = Convert.ToBase64String(utf8[3..]);
        var raw = $"Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?= and\n =?utf-8?B?{first}?= =?utf-8?B?{second}?= from =?ISO-8859-1?q?K=F6ln?=\n\nbody\n";
        // The old parser decoded each word alone (a broken "ü") and kept the space between adjacent words.
        EmailText.Extract(raw).ShouldBe("Café crème and Grüße from Köln\n\nbody");
    }

    [Fact]
    public void Base64HtmlPart_IsDecoded_WithEntities_AndNoScriptStyleOrCommentText()
    {
        var html = "<html><head><title>Offer</title><style>body { color: red; }</style>"
            + "<script>document.write('tracking pixel');</script></head>"
            + "<body><p>Prices &amp; offers &eacute;t&eacute; &#149; &lt;today&gt;&nbsp;only</p>"
            + "<table><tr><td>Cheap</td><td>Fast</td></tr></table><!-- hidden comment -->"
            + "<p>un<b>believ</b>able<br>deals</p><script type=\"text/javascript\">var secret = '<p>no</p>';</script></body></html>";
        var raw = $"""
            Subject: Sale
            Content-Type: multipart/mixed; boundary=b1

            --b1
            Content-Type: text/html; charset=utf-8
            Content-Transfer-Encoding: base64

            {B64(html)}
            --b1--
            """;
        var text = EmailText.Extract(raw);
        // &#149; is the Windows-1252 bullet, as HTML5 reads it (the old parser gave the C1 control U+0095).
        text.ShouldBe("Sale\n\nOffer\n\nPrices & offers été • <today> only\n\nCheap Fast\n\nunbelievable\ndeals");
        foreach (var hidden in new[] { "color", "document.write", "tracking", "secret", "hidden comment" })
            text.ShouldNotContain(hidden, Case.Sensitive);
    }

    [Fact]
    public void MalformedMultiparts_DoNotThrow_AndKeepWhatCanBeRead()
    {
        // A boundary that never appears: nothing can be split out, and the subject is what remains.
        EmailText.Extract("Subject: Lost\nContent-Type: multipart/mixed; boundary=\"AAA\"\n\n--BBB\nContent-Type: text/plain\n\nlost text\n--BBB--\n")
            .ShouldBe("Lost");
        // No closing delimiter, and the last part cut off mid-line: both parts are read.
        EmailText.Extract("Subject: Cut\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nfirst part\n--zz\nContent-Type: text/plain\n\nsecond part cut off mid")
            .ShouldBe("Cut\n\nfirst part\n\nsecond part cut off mid");
        // No boundary parameter at all: the body cannot be split, so all of it is the text.
        EmailText.Extract("Subject: Raw\nContent-Type: multipart/alternative\n\nthe sender's words\n")
            .ShouldBe("Raw\n\nthe sender's words");
        // An empty boundary and an unterminated quoted one: MimeKit still finds the part.
        EmailText.Extract("Subject: E\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\nContent-Type: text/plain\n\nx\n----\n").ShouldBe("E\n\nx");
        EmailText.Extract("Subject: Q\nContent-Type: multipart/mixed; boundary=\"abc\n\n--abc\nContent-Type: text/plain\n\ny\n--abc--\n").ShouldBe("Q\n\ny");
        // Truncated base64 (10 characters: "hello " and an incomplete last group, which MimeKit drops) and a bad
        // quoted-printable escape, kept as written.
        EmailText.Extract("Subject: T\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + B64("hello there")[..10] + "\n--q\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nfifty =ZZ percent\n--q--\n")
            .ShouldBe("T\n\nhello\n\nfifty =ZZ percent");
        // No header block at all: every line is body.
        EmailText.Extract("just a line of text\nand another\n").ShouldBe("just a line of text\nand another");
    }

    [Fact]
    public void PlainTextThatMentionsTags_KeepsItsComparisons()
    {
        // Spam-filter discussions quote HTML; the tag check makes the part HTML, but "<=" is text to an HTML parser
        // (the old regex deleted everything from "<" to the next ">").
        var raw = "Subject: tokens\nContent-Type: text/plain\n\nthe tokenizer drops <td> tags\nif 3 <= n <= 12: yield w\nassert n > 0\n";
        EmailText.Extract(raw).ShouldBe("tokens\n\nthe tokenizer drops tags\nif 3 <= n <= 12: yield w\nassert n > 0");
    }

    [Fact]
    public void Charsets_UnencodedTextStaysAsThePackageHoldsIt_EncodedBytesUseTheDeclaredCharset()
    {
        // The package stores messages as text: an 8-bit part labelled ISO-8859-1 is already "Café", not bytes to decode.
        EmailText.Extract("Subject: s\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nCafé\n")
            .ShouldBe("s\n\nCafé");
        // Quoted-printable bytes in windows-1252 (0x80 is the euro sign), and in a charset nobody knows (ISO-8859-1).
        EmailText.Extract("Subject: s\nContent-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\n5 =80 =96 cheap\n")
            .ShouldBe("s\n\n5 € – cheap");
        EmailText.Extract("Subject: s\nContent-Type: text/plain; charset=x-no-such-charset\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9\n")
            .ShouldBe("s\n\nCafé");
    }
}
