using System.Net;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// A request body that announces <see cref="DeclaredLength"/> bytes, sends <c>head</c> and then a part of
/// <c>body</c>, and then stalls until cancelled: a slow client caught mid-upload, so a test can kill the portal while
/// the upload is really being written, without a test hook in the product.
/// </summary>
sealed class StalledContent(byte[] head, byte[] body, int sendBytes, byte[] tail, string contentType) : HttpContent
{
    readonly TaskCompletionSource _stall = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public long DeclaredLength => head.Length + body.Length + tail.Length;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(head);
        await stream.WriteAsync(body.AsMemory(0, sendBytes));
        await stream.FlushAsync();
        await _stall.Task; // never completes: the portal is killed while it waits for the rest
    }

    protected override bool TryComputeLength(out long length)
    {
        length = DeclaredLength;
        return true;
    }

    public void Abandon() => _stall.TrySetCanceled();

    public static StalledContent Raw(byte[] body, int sendBytes, string contentType)
    {
        var c = new StalledContent([], body, sendBytes, [], contentType);
        c.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        c.Headers.ContentLength = c.DeclaredLength;
        return c;
    }

    /// <summary>A multipart/form-data body with one file field, written by hand so that it can stall in the file's bytes.</summary>
    public static StalledContent Multipart(byte[] file, string fileName, int sendBytes)
    {
        const string boundary = "mz-stalled-boundary";
        var head = System.Text.Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{fileName}\"\r\n" +
                                                       "Content-Type: application/octet-stream\r\n\r\n");
        var tail = System.Text.Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        var c = new StalledContent(head, file, sendBytes, tail, "multipart/form-data");
        c.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
        c.Headers.ContentLength = c.DeclaredLength;
        return c;
    }
}
