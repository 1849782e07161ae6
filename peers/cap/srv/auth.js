// BC answers 401 without a valid Entra token (API-FACTS §8). This peer asks the peer identity
// provider (RFC 7662 introspection) when BCBRIDGE_PEER_INTROSPECT is set
// ("URL client_id client_secret"), else accepts any bearer token.
const cds = require('@sap/cds')

const [url, clientId, clientSecret] = (process.env.BCBRIDGE_PEER_INTROSPECT || '').split(' ')

function unauthorized (res, message) {
  res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: { code: 'Unauthorized', message } })
}

module.exports = async function bearerAuth (req, res, next) {
  const header = req.headers.authorization || ''
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  if (!match) return unauthorized(res, 'The credentials provided are incorrect')
  if (url) {
    try {
      const answer = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64'),
        },
        body: new URLSearchParams({ token: match[1] }),
      })
      const info = await answer.json()
      if (!info.active) return unauthorized(res, 'The access token is not active')
      req.user = new cds.User.Privileged({ id: info.sub || info.client_id })
    } catch (error) {
      return next(error)
    }
  } else {
    req.user = new cds.User.Privileged({ id: 'peer' })
  }
  next()
}
