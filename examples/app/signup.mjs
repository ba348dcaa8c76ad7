// The "application under test" of the examples: it mails a sign-up code over SMTP, as any
// app would, knowing only where the SMTP server is.
import { createTransport } from 'nodemailer';

export async function sendSignupCode({ smtpHost, smtpPort, to }) {
  const code = String(100000 + Math.floor(Math.random() * 900000));
  const transport = createTransport({ host: smtpHost, port: smtpPort, ignoreTLS: true });
  try {
    await transport.sendMail({
      from: 'Example App <noreply@app.example.test>',
      to,
      subject: 'Your sign-up code',
      text: `Welcome! Your code is ${code}.\nOr confirm at https://app.example.test/confirm?code=${code}\n`,
    });
  } finally {
    transport.close();
  }
  return code;
}
